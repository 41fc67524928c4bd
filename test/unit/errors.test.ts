import { describe, expect, it } from '@jest/globals';
import { ERROR_CATALOG, toVoxconfError, UpstreamError, VoxconfError, VoximplantApiError } from '../../lib/index.js';
import { classifyHttpStatus, classifyVoximplantCode } from '../../lib/voximplant-codes.js';

describe('error classification', () => {
  it.each([1, 2, 4, 15, 16, 22, 23, 135, 162, 251, 314, 340, 416, 484])(
    'Voximplant code %i is transient (retryable)',
    (code) => {
      const kind = classifyVoximplantCode(code);
      expect(kind).toBe('voximplant_unavailable');
      expect(ERROR_CATALOG[kind].retryable).toBe(true);
    },
  );

  it.each([101, 107, 116, 117, 134, 147, 257, 269, 270, 375, 393, 558])(
    "Voximplant code %i is the request's fault (422, permanent)",
    (code) => {
      const kind = classifyVoximplantCode(code);
      expect(kind).toBe('voximplant_rejected_request');
      expect(ERROR_CATALOG[kind]).toMatchObject({ status: 422, retryable: false });
    },
  );

  it.each([104, 127, 131, 99999])('Voximplant code %i is an account error (502, permanent)', (code) => {
    const kind = classifyVoximplantCode(code);
    expect(kind).toBe('voximplant_account_error');
    expect(ERROR_CATALOG[kind]).toMatchObject({ status: 502, retryable: false });
  });

  it('treats 100 as an authorization failure (502 once the refresh did not help)', () => {
    expect(classifyVoximplantCode(100)).toBe('voximplant_authorization_failed');
    expect(ERROR_CATALOG.voximplant_authorization_failed).toMatchObject({ status: 502, retryable: false });
  });

  it.each([
    [429, 'voximplant_throttled', 503, true],
    [500, 'voximplant_unavailable', 503, true],
    [503, 'voximplant_unavailable', 503, true],
    [404, 'voximplant_http_error', 502, false],
    [401, 'voximplant_http_error', 502, false],
  ] as const)('HTTP %i becomes %s', (status, code, httpStatus, retryable) => {
    expect(classifyHttpStatus(status)).toBe(code);
    expect(ERROR_CATALOG[code]).toMatchObject({ status: httpStatus, retryable });
  });

  it('keeps code, cause and retryable on the classes', () => {
    const cause = new Error('socket hang up');
    const error = new UpstreamError('voximplant_timeout', 'slow', { cause });
    expect(error).toBeInstanceOf(VoxconfError);
    expect(error.name).toBe('UpstreamError');
    expect(error.cause).toBe(cause);
    expect(error.retryable).toBe(true);
    const api = new VoximplantApiError('voximplant_rejected_request', 147, "The 'rule_id' parameter is invalid");
    expect(api.voximplantCode).toBe(147);
    expect(api.publicMessage).toContain('147');
  });

  it('hides the message of server-side errors behind the catalog text', () => {
    const error = new VoxconfError('credentials_not_found', 'Secret "voxconf/creds" was not found');
    expect(error.publicMessage).toBe('The service is misconfigured.');
  });

  it('wraps unknown throwables as a permanent internal_error keeping the cause', () => {
    const cause = new TypeError('x is undefined');
    const error = toVoxconfError(cause);
    expect(error.code).toBe('internal_error');
    expect(error.retryable).toBe(false);
    expect(error.cause).toBe(cause);
  });
});
