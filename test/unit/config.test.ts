import { describe, expect, it } from '@jest/globals';
import { ConfigurationError, loadConfig } from '../../lib/index.js';

const base = { VOXIMPLANT_CREDENTIALS_SECRET_ID: 'voxconf/credentials' };

function failure(env: Record<string, string>): ConfigurationError {
  try {
    loadConfig(env);
  } catch (error) {
    return error as ConfigurationError;
  }
  throw new Error('loadConfig did not throw');
}

describe('loadConfig', () => {
  it('applies defaults', () => {
    const config = loadConfig(base);
    expect(config.apiUrl).toBe('https://api.voximplant.com/platform_api');
    expect(config.defaultRuleId).toBeUndefined();
    expect(config.allowedRuleIds).toBeUndefined();
    expect(config.tokenLifetimeSeconds).toBeLessThanOrEqual(3600);
    expect(config.requestTimeoutMs).toBe(5000);
    expect(config.credentialsTtlMs).toBe(300_000);
    expect(config.scheduleMaxLatenessSeconds).toBe(600);
  });

  it('fails fast naming a missing secret id', () => {
    const error = failure({});
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.variable).toBe('VOXIMPLANT_CREDENTIALS_SECRET_ID');
    expect(error.message).toContain('VOXIMPLANT_CREDENTIALS_SECRET_ID');
    expect(error.retryable).toBe(false);
  });

  it('reads rule ids, the allow-list and trims a trailing slash from the URL', () => {
    const config = loadConfig({
      ...base,
      VOXIMPLANT_API_URL: 'http://127.0.0.1:9000/platform_api/',
      VOXIMPLANT_DEFAULT_RULE_ID: '7',
      VOXIMPLANT_ALLOWED_RULE_IDS: '7, 8;9',
    });
    expect(config.apiUrl).toBe('http://127.0.0.1:9000/platform_api');
    expect(config.defaultRuleId).toBe(7);
    expect([...(config.allowedRuleIds ?? [])]).toEqual([7, 8, 9]);
  });

  it.each([
    ['VOXIMPLANT_API_URL', 'not a url'],
    ['VOXIMPLANT_API_URL', 'ftp://example.com'],
    ['VOXIMPLANT_DEFAULT_RULE_ID', 'abc'],
    ['VOXIMPLANT_DEFAULT_RULE_ID', '0'],
    ['VOXIMPLANT_ALLOWED_RULE_IDS', '1,x'],
    ['VOXIMPLANT_REQUEST_TIMEOUT_MS', '-5'],
    ['VOXIMPLANT_REQUEST_TIMEOUT_MS', '10'],
    ['VOXIMPLANT_TOKEN_LIFETIME_SECONDS', '3601'],
    ['VOXIMPLANT_MAX_ATTEMPTS', '0'],
    ['SCHEDULE_MAX_LATENESS_SECONDS', '1.5'],
  ])('names %s when it is %p', (variable, value) => {
    expect(failure({ ...base, [variable]: value }).variable).toBe(variable);
  });

  it('refuses token settings that leave a signed token no time to be used', () => {
    expect(
      failure({ ...base, VOXIMPLANT_TOKEN_LIFETIME_SECONDS: '60', VOXIMPLANT_TOKEN_BACKDATE_SECONDS: '120' }).variable,
    ).toBe('VOXIMPLANT_TOKEN_BACKDATE_SECONDS');
    expect(
      failure({ ...base, VOXIMPLANT_TOKEN_LIFETIME_SECONDS: '30', VOXIMPLANT_TOKEN_BACKDATE_SECONDS: '25' }).variable,
    ).toBe('VOXIMPLANT_TOKEN_BACKDATE_SECONDS');
    expect(
      loadConfig({ ...base, VOXIMPLANT_TOKEN_LIFETIME_SECONDS: '60', VOXIMPLANT_TOKEN_BACKDATE_SECONDS: '5' })
        .tokenLifetimeSeconds,
    ).toBe(60);
  });

  it('refuses a default rule outside the allow-list', () => {
    const error = failure({ ...base, VOXIMPLANT_DEFAULT_RULE_ID: '5', VOXIMPLANT_ALLOWED_RULE_IDS: '6' });
    expect(error.variable).toBe('VOXIMPLANT_DEFAULT_RULE_ID');
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ ...base, VOXIMPLANT_DEFAULT_RULE_ID: '  ' }).defaultRuleId).toBeUndefined();
  });
});
