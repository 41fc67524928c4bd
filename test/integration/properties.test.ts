/**
 * Property-based tests of the three edges: whatever arrives, the answer is a 4xx (or a dead-lettered
 * record) naming the problem; never a 5xx, never an unhandled rejection, never a call to Voximplant. Every HTTP
 * answer is also checked against docs/openapi.yaml (compiled once; microseconds per case).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { SQSRecord } from 'aws-lambda';
import fc from 'fast-check';
import type { DeadLetterSink } from '../../lib/dead-letter.js';
import type { VoxconfError } from '../../lib/index.js';
import { httpEvent, lambdaContext, sqsRecord } from '../helpers/events.js';
import { type CoreFixture, startCoreFixture } from '../helpers/fixture.js';
import { expectMatchesOpenApi, fromLambdaResult } from '../helpers/openapi.js';

/** Cases per property (8 properties; the invalid-UTF-8 one runs a quarter as many, the names one five times as many). */
const RUNS = Number(process.env.VOXCONF_PROPERTY_RUNS ?? 200);

let fx: CoreFixture;
let http: (
  event: unknown,
  context: unknown,
) => Promise<{ statusCode: number; body: string; headers?: Record<string, string> }>;
const saved = { ...process.env };
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

beforeAll(async () => {
  fx = await startCoreFixture();
  Object.assign(process.env, fx.env);
  ({ handler: http } = (await import('../../functions/http.js')) as never);
  process.on('unhandledRejection', onUnhandled);
});
afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  process.env = saved;
  await fx.close();
  expect(unhandled).toEqual([]);
});

const FIELDS = [
  'conference_name',
  'rule_id',
  'user_id',
  'user_name',
  'application_id',
  'application_name',
  'script_custom_data',
  'reference_ip',
  'server_location',
];

/** Unicode White_Space (PropList.txt), listed here rather than taken from the validator's regex. */
const WHITE_SPACE = new Set([
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006,
  0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
]);

/**
 * The README's rules for a name (conference_name, user_name, application_name, server_location), written
 * apart from lib/validation.ts: the rule a name breaks first, or undefined for a valid one.
 */
function nameRule(name: string, maxCodePoints: number): string | undefined {
  if (!name.isWellFormed()) return 'unicode';
  if (name === '') return 'required';
  const codePoints = [...name].map((c) => c.codePointAt(0) as number);
  if (codePoints.length > maxCodePoints) return 'max_length';
  // C0, DEL and C1.
  if (codePoints.some((c) => c <= 0x1f || (c >= 0x7f && c <= 0x9f))) return 'control_characters';
  if ([...name].every((c) => WHITE_SPACE.has(c.codePointAt(0) as number) || /^\p{Cf}$/u.test(c))) {
    return 'invisible_only';
  }
  if (WHITE_SPACE.has(codePoints[0] as number) || WHITE_SPACE.has(codePoints.at(-1) as number)) {
    return 'surrounding_whitespace';
  }
  return undefined;
}

/** Names from any code point, weighted towards the characters the rules are about. */
const anyName = fc.string({
  maxLength: 60,
  unit: fc.oneof(
    fc.constantFrom(
      'a',
      'é',
      'e\u0301',
      '😀',
      ' ',
      '\t',
      '\u007f',
      '\u0080',
      '\u0085',
      '\u009f',
      '\u00a0',
      '\u1680',
      '\u180e',
      '\u200b',
      '\u200c',
      '\u200d',
      '\u2028',
      '\u202e',
      '\u2060',
      '\u3000',
      '\ufeff',
      '\ud800',
    ),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  ),
});

/** Values of every JSON type and the awkward corners: huge strings, lone surrogates, extreme numbers. */
const nasty = fc.oneof(
  fc.jsonValue(),
  fc.string({ maxLength: 70_000, size: 'max' }).filter((s) => s.length > 100),
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    '\ud800',
    'a\udfff',
    'a\u0085b',
    '\u200B\u200B',
    '\u202E',
    ' a',
    'a\u3000',
    '😀'.repeat(50),
    Number.POSITIVE_INFINITY,
    -0,
    Number.MAX_SAFE_INTEGER + 2,
    -1,
    0,
    1.5,
    '12abc',
    '0x10',
    '1e3',
    true,
    null,
    [],
    {},
  ),
);

/** A request object with at least one broken field (wrong type, bad value, unknown or forbidden key). */
const brokenRequest = fc
  .record({
    base: fc.record({
      conference_name: fc.string({ minLength: 1, maxLength: 10 }).filter((s) => nameRule(s, 49) === undefined),
      rule_id: fc.integer({ min: 1, max: 1000 }),
    }),
    field: fc.oneof(
      fc.constantFrom(...FIELDS),
      fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty'),
      fc.string({ minLength: 1, maxLength: 20 }),
    ),
    value: nasty,
  })
  .map(({ base, field, value }) => ({ ...base, [field]: value }));

/** Deeply nested JSON text (arrays or objects), past any reasonable parser depth. */
const deepJson = fc
  .integer({ min: 1_000, max: 100_000 })
  .chain((depth) =>
    fc.constantFrom(
      `${'['.repeat(depth)}${']'.repeat(depth)}`,
      `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`,
      `{"conference_name":"x","rule_id":${'['.repeat(depth)}${']'.repeat(depth)}}`,
    ),
  );

/** Bytes that are not UTF-8, sent base64-encoded as API Gateway does for binary bodies. */
const invalidUtf8 = fc
  .uint8Array({ minLength: 1, maxLength: 64 })
  .map((bytes) =>
    Buffer.concat([
      Buffer.from('{"conference_name":"'),
      Buffer.from([0xc3, 0x28, 0xff, ...bytes]),
      Buffer.from('","rule_id":1}'),
    ]).toString('base64'),
  );

function isNamed(error: { code?: unknown; message?: unknown; field?: unknown; details?: unknown }): boolean {
  return typeof error.code === 'string' && typeof error.message === 'string' && error.message.length > 0;
}

async function expectRefused(event: unknown): Promise<void> {
  const before = fx.emulator.stats().requests;
  const response = await http(event, lambdaContext(10_000));
  const body = expectMatchesOpenApi('POST', '/conferences', fromLambdaResult(response)) as Record<string, any>;
  if (response.statusCode < 400 || response.statusCode >= 500 || !isNamed(body.error ?? {})) {
    throw new Error(`answered ${response.statusCode} ${response.body.slice(0, 300)}`);
  }
  if (body.error.code === 'invalid_request' && typeof body.error.field !== 'string') {
    throw new Error(`invalid_request without a field: ${response.body.slice(0, 300)}`);
  }
  expect(fx.emulator.stats().requests).toBe(before);
}

describe('HTTP body', () => {
  it('any JSON value that is not a valid request is refused with a 4xx naming the problem', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (value) => {
        fc.pre(!(value && typeof value === 'object' && 'conference_name' in value && 'rule_id' in value));
        await expectRefused(httpEvent(JSON.stringify(value)));
      }),
      { numRuns: RUNS },
    );
  });

  it('a request with one broken field is refused, naming a field', async () => {
    await fc.assert(
      fc.asyncProperty(brokenRequest, async (request) => {
        const text = JSON.stringify(request);
        fc.pre(text !== undefined);
        // A broken field that happens to be valid (e.g. user_name "abc") is fine: only invalid ones are checked.
        const { validateConferenceRequest } = await import('../../lib/validation.js');
        let valid = true;
        try {
          validateConferenceRequest(JSON.parse(text));
        } catch {
          valid = false;
        }
        fc.pre(!valid);
        await expectRefused(httpEvent(text));
      }),
      { numRuns: RUNS },
    );
  });

  it('arbitrary text, deep nesting and invalid UTF-8 are refused', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 2_000 }), deepJson), async (text) => {
        fc.pre(text !== '');
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
        fc.pre(
          !(
            parsed &&
            typeof parsed === 'object' &&
            'conference_name' in parsed &&
            'rule_id' in parsed &&
            typeof (parsed as { rule_id: unknown }).rule_id === 'number'
          ),
        );
        await expectRefused(httpEvent(text));
      }),
      { numRuns: RUNS },
    );
    await fc.assert(
      fc.asyncProperty(invalidUtf8, async (base64) => {
        await expectRefused(httpEvent(base64, { isBase64Encoded: true }));
      }),
      { numRuns: Math.ceil(RUNS / 4) },
    );
  });

  it('empty, missing and wrongly typed bodies are refused', async () => {
    const contentTypes = fc.constantFrom(
      null,
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/xml',
      'application/jsonx',
      'json',
      '',
    );
    await fc.assert(
      fc.asyncProperty(
        fc.option(fc.string({ maxLength: 200 }), { nil: undefined }),
        contentTypes,
        async (body, contentType) => {
          await expectRefused(httpEvent(body, { contentType }));
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('names', () => {
  it("every name field is accepted as given exactly when it keeps the README's rules, refused naming the rule otherwise", async () => {
    const { validateConferenceRequest } = await import('../../lib/validation.js');
    const fields = { conference_name: 49, user_name: 255, application_name: 255, server_location: 255 };
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...Object.keys(fields)), anyName, async (field, name) => {
        const request = { conference_name: 'a', rule_id: 1, [field]: name };
        const expected = nameRule(name, fields[field as keyof typeof fields]);
        if (expected === undefined) {
          expect(validateConferenceRequest(request)).toMatchObject({ [field]: name });
          return;
        }
        expect(() => validateConferenceRequest(request)).toThrow(
          expect.objectContaining({ details: [expect.objectContaining({ field, rule: expected })] }),
        );
        const before = fx.emulator.stats().requests;
        const response = await http(httpEvent(JSON.stringify(request)), lambdaContext(10_000));
        expect(response.statusCode).toBe(400);
        expect(JSON.parse(response.body).error).toMatchObject({ code: 'invalid_request', field });
        expect(fx.emulator.stats().requests).toBe(before);
      }),
      { numRuns: RUNS * 5 },
    );
  });
});

describe('SQS bodies', () => {
  it('every invalid message is dead-lettered with a reason and never reported for retry or sent to Voximplant', async () => {
    const { processQueueBatch } = await import('../../lib/queue-batch.js');
    const service = fx.service();
    const bodies = fc.oneof(
      fc.string({ maxLength: 500 }),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      brokenRequest.map((r) => JSON.stringify(r)),
      deepJson,
    );
    await fc.assert(
      fc.asyncProperty(fc.array(bodies, { minLength: 1, maxLength: 10 }), async (batch) => {
        const { validateConferenceRequest } = await import('../../lib/validation.js');
        for (const body of batch) {
          let valid = true;
          try {
            validateConferenceRequest(JSON.parse(body));
          } catch {
            valid = false;
          }
          fc.pre(!valid);
        }
        const dead: Array<{ body: string; error: VoxconfError }> = [];
        const deadLetter: DeadLetterSink = { send: async (body, error) => void dead.push({ body, error }) };
        const records: SQSRecord[] = batch.map((body, i) => sqsRecord(body, { messageId: `m${i}` }));
        const before = fx.emulator.stats().requests;
        // Invalid bodies are permanent: nothing may ask SQS for a redelivery.
        const redelivery = { after: async () => Promise.reject(new Error('no redelivery expected')) };
        const policy = { redelivery, maxReceiveCount: 5, redeliveryBaseSeconds: 30 };
        const response = await processQueueBatch(records, { service, deadLetter, ...policy });
        expect(response.batchItemFailures).toEqual([]);
        expect(dead.map((d) => d.body).sort()).toEqual([...batch].sort());
        for (const { error } of dead) {
          expect(isNamed({ code: error.code, message: error.message })).toBe(true);
          // A crash of the validator would also be "dead-lettered": it must be a named refusal instead.
          expect(['invalid_request', 'malformed_json', 'rule_not_allowed']).toContain(error.code);
        }
        expect(fx.emulator.stats().requests).toBe(before);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('schedule input', () => {
  it('any event that is not a valid request ends dead-lettered, never started, never a crash', async () => {
    const { processScheduledEvent } = await import('../../lib/schedule.js');
    const service = fx.service();
    const events = fc.oneof(
      fc.jsonValue(),
      brokenRequest,
      brokenRequest.map((request) => ({ request, scheduled_time: new Date().toISOString(), execution_id: 'e' })),
      fc.record({
        request: fc.jsonValue(),
        scheduled_time: fc.oneof(fc.string(), fc.jsonValue()),
        execution_id: fc.jsonValue(),
      }),
    );
    await fc.assert(
      fc.asyncProperty(events, async (event) => {
        const { validateConferenceRequest } = await import('../../lib/validation.js');
        const request =
          event && typeof event === 'object' && !Array.isArray(event) && 'request' in event
            ? (event as { request: unknown }).request
            : event;
        let valid = true;
        try {
          validateConferenceRequest(request);
        } catch {
          valid = false;
        }
        fc.pre(!valid);
        const dead: string[] = [];
        const deadLetter: DeadLetterSink = { send: async (_body, error) => void dead.push(error.code) };
        const before = fx.emulator.stats().requests;
        const outcome = await processScheduledEvent(event, {
          service,
          deadLetter,
          maxLatenessSeconds: 600,
          maxEarlinessSeconds: 300,
        });
        expect(outcome.outcome).toBe('dead_lettered');
        expect(dead).toHaveLength(1);
        // too_late: a wrapper whose request is invalid but whose valid scheduled_time lies in the past.
        expect(['invalid_request', 'malformed_json', 'too_late']).toContain(dead[0]);
        expect(fx.emulator.stats().requests).toBe(before);
      }),
      { numRuns: RUNS },
    );
  });
});
