import { describe, expect, it } from '@jest/globals';
import { LIMITS, ValidationError, validateConferenceRequest } from '../../lib/index.js';

function problems(input: unknown, defaultRuleId?: number) {
  try {
    validateConferenceRequest(input, { defaultRuleId });
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    const validation = error as ValidationError;
    expect(validation.code).toBe('invalid_request');
    expect(validation.retryable).toBe(false);
    expect(validation.field).toBe(validation.details?.[0]?.field);
    return validation.details?.map(({ field, rule }) => `${field}:${rule}`);
  }
  throw new Error('validation passed');
}

describe('validateConferenceRequest', () => {
  it('accepts a full request and keeps the API field names', () => {
    const request = validateConferenceRequest({
      conference_name: 'Daily stand-up',
      rule_id: 42,
      user_name: 'host',
      application_id: 7,
      script_custom_data: 'x=1',
      reference_ip: '2001:db8::1',
      server_location: 'eu',
    });
    expect(request).toEqual({
      conference_name: 'Daily stand-up',
      rule_id: 42,
      user_name: 'host',
      application_id: 7,
      script_custom_data: 'x=1',
      reference_ip: '2001:db8::1',
      server_location: 'eu',
    });
  });

  it('counts the name in code points: 49 emoji pass, 50 do not', () => {
    const ok = '😀'.repeat(49);
    expect(ok.length).toBe(98);
    expect(validateConferenceRequest({ conference_name: ok, rule_id: 1 }).conference_name).toBe(ok);
    expect(problems({ conference_name: '😀'.repeat(50), rule_id: 1 })).toEqual(['conference_name:max_length']);
    expect(problems({ conference_name: 'a'.repeat(50), rule_id: 1 })).toEqual(['conference_name:max_length']);
    expect(LIMITS.conferenceNameMaxCodePoints).toBe(49);
  });

  it('keeps ü / & = spaces and emoji as given', () => {
    const name = 'demo room/ü&=🎉';
    expect(validateConferenceRequest({ conference_name: name, rule_id: 1 }).conference_name).toBe(name);
  });

  it('uses the configured default rule, and requires one otherwise', () => {
    expect(validateConferenceRequest({ conference_name: 'a' }, { defaultRuleId: 9 }).rule_id).toBe(9);
    expect(problems({ conference_name: 'a' })).toEqual(['rule_id:required']);
  });

  it('accepts a numeric string rule id and refuses other shapes', () => {
    expect(validateConferenceRequest({ conference_name: 'a', rule_id: '12' }).rule_id).toBe(12);
    expect(problems({ conference_name: 'a', rule_id: 0 })).toEqual(['rule_id:range']);
    expect(problems({ conference_name: 'a', rule_id: -1 })).toEqual(['rule_id:range']);
    expect(problems({ conference_name: 'a', rule_id: 1.5 })).toEqual(['rule_id:type']);
    expect(problems({ conference_name: 'a', rule_id: 2 ** 60 })).toEqual(['rule_id:range']);
    expect(problems({ conference_name: 'a', rule_id: true })).toEqual(['rule_id:type']);
    expect(problems({ conference_name: 'a', rule_id: '1e3' })).toEqual(['rule_id:type']);
  });

  it('refuses both user_id and user_name, and both application fields', () => {
    expect(problems({ conference_name: 'a', rule_id: 1, user_id: 1, user_name: 'u' })).toEqual([
      'user_name:mutually_exclusive',
    ]);
    expect(problems({ conference_name: 'a', rule_id: 1, application_id: 1, application_name: 'x' })).toEqual([
      'application_name:mutually_exclusive',
    ]);
  });

  it('JSON-encodes an object script_custom_data and caps its size', () => {
    const request = validateConferenceRequest({ conference_name: 'a', rule_id: 1, script_custom_data: { a: 'ü' } });
    expect(request.script_custom_data).toBe('{"a":"ü"}');
    expect(
      problems({
        conference_name: 'a',
        rule_id: 1,
        script_custom_data: 'ü'.repeat(LIMITS.scriptCustomDataMaxBytes / 2 + 1),
      }),
    ).toEqual(['script_custom_data:max_bytes']);
    expect(problems({ conference_name: 'a', rule_id: 1, script_custom_data: 5 })).toEqual(['script_custom_data:type']);
  });

  it('refuses script_custom_data nested too deeply to encode, naming the field', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 20_000; i++) deep = [deep];
    expect(problems({ conference_name: 'a', rule_id: 1, script_custom_data: deep })).toEqual([
      'script_custom_data:max_depth',
    ]);
  });

  it('checks reference_ip is an address', () => {
    expect(problems({ conference_name: 'a', rule_id: 1, reference_ip: '300.1.1.1' })).toEqual([
      'reference_ip:ip_address',
    ]);
    expect(validateConferenceRequest({ conference_name: 'a', rule_id: 1, reference_ip: '10.0.0.1' }).reference_ip).toBe(
      '10.0.0.1',
    );
  });

  it('names every unknown field, including __proto__ and constructor', () => {
    const input = JSON.parse('{"conference_name":"a","rule_id":1,"__proto__":{"x":1},"constructor":1,"colour":"red"}');
    expect(problems(input)).toEqual(['__proto__:unknown_field', 'constructor:unknown_field', 'colour:unknown_field']);
  });

  it('reports every problem at once, the first one as field', () => {
    expect(problems({ rule_id: 'x', user_id: -2, reference_ip: 3 })).toEqual([
      'conference_name:required',
      'rule_id:type',
      'user_id:range',
      'reference_ip:type',
    ]);
  });

  it.each([null, [], 'text', 3, true])('refuses a body that is not an object: %p', (input) => {
    expect(problems(input)).toEqual(['body:type']);
  });

  it('refuses empty, blank, control-character and lone-surrogate names', () => {
    expect(problems({ conference_name: '', rule_id: 1 })).toEqual(['conference_name:required']);
    expect(problems({ conference_name: '   ', rule_id: 1 })).toEqual(['conference_name:required']);
    expect(problems({ conference_name: 'a\nb', rule_id: 1 })).toEqual(['conference_name:control_characters']);
    expect(problems({ conference_name: 'a\ud800', rule_id: 1 })).toEqual(['conference_name:unicode']);
    expect(problems({ conference_name: null, rule_id: 1 })).toEqual(['conference_name:type']);
  });
});
