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
    expect(problems({ conference_name: '   ', rule_id: 1 })).toEqual(['conference_name:invisible_only']);
    expect(problems({ conference_name: 'a\nb', rule_id: 1 })).toEqual(['conference_name:control_characters']);
    expect(problems({ conference_name: 'a\ud800', rule_id: 1 })).toEqual(['conference_name:unicode']);
    expect(problems({ conference_name: null, rule_id: 1 })).toEqual(['conference_name:type']);
  });

  describe('names: one rule set for conference_name, user_name, application_name and server_location', () => {
    const NAME_FIELDS = ['conference_name', 'user_name', 'application_name', 'server_location'] as const;
    const request = (field: (typeof NAME_FIELDS)[number], value: string) =>
      field === 'conference_name'
        ? { conference_name: value, rule_id: 1 }
        : { conference_name: 'a', rule_id: 1, [field]: value };

    describe.each(NAME_FIELDS)('%s', (field) => {
      it.each([
        ['C0', 'a\u0001b'],
        ['tab', 'a\tb'],
        ['DEL', 'a\u007fb'],
        ['C1 first', 'a\u0080b'],
        ['C1 NEL', 'a\u0085b'],
        ['C1 last', 'a\u009fb'],
        ['C1 at the end', 'ab\u0085'],
      ])('refuses a control character (%s)', (_, value) => {
        expect(problems(request(field, value))).toEqual([`${field}:control_characters`]);
      });

      it.each([
        ['zero width spaces', '\u200B\u200B'],
        ['a right-to-left override', '\u202E'],
        ['a byte order mark', '\uFEFF'],
        ['a zero width joiner', '\u200D'],
        ['spaces', '   '],
        ['no-break and ideographic spaces', '\u00A0\u3000'],
        ['white space and format characters', ' \u200B\u2060 '],
      ])('refuses a name made only of %s', (_, value) => {
        expect(problems(request(field, value))).toEqual([`${field}:invisible_only`]);
      });

      it.each([
        ['a leading space', ' demo'],
        ['a trailing space', 'demo '],
        ['a leading no-break space', '\u00A0demo'],
        ['a trailing ideographic space', 'demo\u3000'],
        ['a trailing line separator', 'demo\u2028'],
        ['an en quad on both sides', '\u2000demo\u2000'],
      ])('refuses %s rather than trimming it', (_, value) => {
        expect(problems(request(field, value))).toEqual([`${field}:surrounding_whitespace`]);
      });

      it.each([
        ['inner spaces', 'Daily stand-up'],
        ['a ZWJ emoji sequence', '👩‍💻'],
        ['a ZWJ sequence among text', 'team 👨‍👩‍👧 call'],
        ['a flag', '🇩🇪'],
        ['an inner no-break space', 'a\u00A0b'],
        ['a zero width non-joiner inside a word', 'می\u200Cخواهم'],
      ])('keeps %s as given', (_, value) => {
        expect(validateConferenceRequest(request(field, value))).toMatchObject({ [field]: value });
      });
    });

    it('compares names as exact code points: NFC and NFD are different names, neither altered', () => {
      const nfc = 'caf\u00e9';
      const nfd = 'cafe\u0301';
      expect(nfc.normalize('NFC')).toBe(nfd.normalize('NFC'));
      expect(validateConferenceRequest({ conference_name: nfc, rule_id: 1 }).conference_name).toBe(nfc);
      expect(validateConferenceRequest({ conference_name: nfd, rule_id: 1 }).conference_name).toBe(nfd);
    });

    it('each refusal says what is wrong in its message', () => {
      const message = (value: string) => {
        try {
          validateConferenceRequest({ conference_name: value, rule_id: 1 });
        } catch (error) {
          return (error as ValidationError).details?.[0]?.message;
        }
        return undefined;
      };
      expect(message('a\u0085b')).toMatch(/control characters/);
      expect(message('\u200B')).toMatch(/visible character/);
      expect(message(' a')).toMatch(/start or end with white space/);
    });
  });
});
