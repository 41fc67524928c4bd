/**
 * Local fidelity of the HTTP API: the README's status table ("How errors look") walked both ways, with the
 * same requests against the same Voximplant emulator and Secrets Manager stand-in:
 *
 *   (i)  over HTTP through the running local stack (serverless offline builds the payload 2.0 event), and
 *   (ii) to the packaged http bundle (the zip's functions/http.mjs, in a process of its own on the functions'
 *        Node, as Lambda runs it) with the payload 2.0 event API Gateway builds from that request.
 *
 * Each row must get the same status, error code and body both ways, and each answer must match
 * docs/openapi.yaml. What API Gateway puts in the event (apiGatewayEvent below): the headers as sent, lowercased
 * (no Content-Type added when there is none), the body exactly as sent, as text for text content types
 * (text/*, application/json, application/xml, application/javascript) and base64 (isBase64Encoded) otherwise,
 * a missing Content-Type included; no body field for an empty body.
 *
 * Rows of the README table not walked here: 500 (a misconfigured service or a crash: no request makes one),
 * 503 credentials_unavailable (the Secrets Manager stand-in cannot be told to fail from outside the stack), and
 * API Gateway's own 401/403/429 (no authorizer and no throttling on the local stage).
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import YAML from 'yaml';
import type { FaultSpec } from '../../local/voximplant-emulator/index.js';
import { connectEmulator, type EmulatorControlClient } from '../../local/voximplant-emulator/index.js';
import { extractZip } from '../../scripts/package.mjs';
import { httpEvent } from '../helpers/events.js';
import { freePortBase, ROOT, type RunningStack, rawRequest, startLocalStack } from '../helpers/local-stack.js';
import { expectMatchesOpenApi, fromLambdaResult, type ObservedResponse } from '../helpers/openapi.js';
import { ensurePackaged } from '../template/package-helper.js';

/** The allow-list the stack runs with (its rules exist in the emulator account); 4243 is not on it. */
const ALLOWED_RULE = 4242;
const OTHER_RULE = 4243;

interface Row {
  /** The README row (status and what makes it). */
  readonly name: string;
  readonly status: number;
  readonly code?: string;
  readonly headers: Record<string, string>;
  readonly body?: Buffer;
  /** An emulator fault in force while the row is walked (scoped to its conference name). */
  readonly fault?: FaultSpec;
  /** Answer headers that must be equal both ways, and present. */
  readonly sameHeaders?: readonly string[];
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const JSON_TYPE = { 'content-type': 'application/json' };

const ROWS: readonly Row[] = [
  { name: '200 started', status: 200, headers: JSON_TYPE, body: json({ conference_name: 'walk-200' }) },
  {
    name: '200 application/*+json',
    status: 200,
    headers: { 'content-type': 'application/merge-patch+json; charset=utf-8' },
    body: json({ conference_name: 'walk-200-plus-json', rule_id: ALLOWED_RULE }),
  },
  {
    name: '400 a field broke a rule',
    status: 400,
    code: 'invalid_request',
    headers: JSON_TYPE,
    body: json({ conference_name: '', rule_id: -1 }),
  },
  { name: '400 a bare JSON string', status: 400, code: 'invalid_request', headers: JSON_TYPE, body: json('walk') },
  { name: '400 a bare JSON number', status: 400, code: 'invalid_request', headers: JSON_TYPE, body: json(0) },
  { name: '400 JSON null', status: 400, code: 'invalid_request', headers: JSON_TYPE, body: json(null) },
  { name: '400 no body', status: 400, code: 'invalid_request', headers: JSON_TYPE },
  {
    name: '403 rule not allowed',
    status: 403,
    code: 'rule_not_allowed',
    headers: JSON_TYPE,
    body: json({ conference_name: 'walk-403', rule_id: OTHER_RULE }),
  },
  {
    name: '413 body over 32 KiB',
    status: 413,
    code: 'body_too_large',
    headers: JSON_TYPE,
    body: json({ conference_name: 'walk-413', script_custom_data: 'y'.repeat(40_000) }),
  },
  {
    name: '415 no Content-Type',
    status: 415,
    code: 'unsupported_media_type',
    headers: {},
    body: json({ conference_name: 'walk-415-none' }),
  },
  {
    name: '415 text/plain',
    status: 415,
    code: 'unsupported_media_type',
    headers: { 'content-type': 'text/plain' },
    body: json({ conference_name: 'walk-415-text' }),
  },
  {
    name: '415 gzip',
    status: 415,
    code: 'unsupported_media_type',
    headers: { ...JSON_TYPE, 'content-encoding': 'gzip' },
    body: gzipSync(json({ conference_name: 'walk-415-gzip' })),
  },
  {
    name: '422 malformed JSON',
    status: 422,
    code: 'malformed_json',
    headers: JSON_TYPE,
    body: Buffer.from('{"conference_name":'),
  },
  {
    name: '422 rejected by Voximplant',
    status: 422,
    code: 'voximplant_rejected_request',
    headers: JSON_TYPE,
    body: json({ conference_name: 'walk-422' }),
    fault: { type: 'error', code: 147, conferenceName: 'walk-422' },
  },
  {
    name: '502 account error',
    status: 502,
    code: 'voximplant_account_error',
    headers: JSON_TYPE,
    body: json({ conference_name: 'walk-502' }),
    fault: { type: 'error', code: 127, conferenceName: 'walk-502' },
  },
  {
    name: '502 not a StartConference answer',
    status: 502,
    code: 'voximplant_invalid_response',
    headers: JSON_TYPE,
    body: json({ conference_name: 'walk-502-raw' }),
    fault: { type: 'raw', body: '<html>gateway</html>', conferenceName: 'walk-502-raw' },
  },
  {
    name: '503 with Retry-After',
    status: 503,
    code: 'voximplant_unavailable',
    headers: JSON_TYPE,
    body: json({ conference_name: 'walk-503' }),
    fault: { type: 'http', status: 503, retryAfter: 30, conferenceName: 'walk-503' },
    sameHeaders: ['retry-after'],
  },
  {
    // Longer than the http function's 3 s per attempt (serverless.yml): the first attempt times out.
    name: '504 Voximplant too slow',
    status: 504,
    code: 'voximplant_timeout',
    headers: JSON_TYPE,
    body: json({ conference_name: 'walk-504' }),
    fault: { type: 'latency', ms: 3_500, conferenceName: 'walk-504' },
  },
];

/** API Gateway's text media types: the body reaches the function as text; any other (or none): base64. */
const TEXT_TYPE = /^(text\/[^;\s]+|application\/(json|xml|javascript))\s*(;|$)/i;

/** The payload 2.0 event API Gateway builds from this request (see the file comment). */
function apiGatewayEvent(row: Row): APIGatewayProxyEventV2 {
  const contentType = row.headers['content-type'];
  const text = contentType !== undefined && TEXT_TYPE.test(contentType);
  const body =
    row.body === undefined || row.body.length === 0
      ? undefined
      : text
        ? row.body.toString('utf8')
        : row.body.toString('base64');
  const { 'content-type': _, ...others } = row.headers;
  return httpEvent(body, {
    contentType: contentType ?? null,
    authorizer: 'none',
    isBase64Encoded: body !== undefined && !text,
    headers: { ...others, ...(row.body ? { 'content-length': String(row.body.length) } : {}) },
  });
}

/** The packaged http bundle in a process of its own, invoked one event at a time over stdin/stdout. */
class Bundle {
  private buffered = '';
  private readonly waiting: ((result: APIGatewayProxyStructuredResultV2) => void)[] = [];
  private stderr = '';
  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      this.buffered += chunk;
      for (let end = this.buffered.indexOf('\n'); end >= 0; end = this.buffered.indexOf('\n')) {
        const line = this.buffered.slice(0, end);
        this.buffered = this.buffered.slice(end + 1);
        // The handler's own log lines go to stdout as well.
        if (line.startsWith('WALK_RESULT ')) this.waiting.shift()?.(JSON.parse(line.slice('WALK_RESULT '.length)));
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
  }

  static start(node: string, file: string, env: Record<string, string>): Bundle {
    const runner = `
      import { createInterface } from 'node:readline';
      const { handler } = await import(process.argv[1]);
      for await (const line of createInterface({ input: process.stdin })) {
        const deadline = Date.now() + 10_000; // the http function's timeout (serverless.yml)
        const context = {
          awsRequestId: 'walk', functionName: 'voxconf-walk-http', callbackWaitsForEmptyEventLoop: false,
          getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
        };
        const result = await handler(JSON.parse(line), context);
        process.stdout.write('WALK_RESULT ' + JSON.stringify(result) + '\\n');
      }`;
    return new Bundle(
      spawn(node, ['--input-type=module', '-e', runner, file], { env, stdio: ['pipe', 'pipe', 'pipe'] }),
    );
  }

  invoke(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the bundle did not answer in 15 s:\n${this.stderr}`)), 15_000);
      this.waiting.push((result) => {
        clearTimeout(timer);
        resolve(result);
      });
      this.child.stdin.write(`${JSON.stringify(event)}\n`);
    });
  }

  stop(): void {
    this.child.kill('SIGKILL');
  }
}

let stack: RunningStack | undefined;
let bundle: Bundle | undefined;
let emulator: EmulatorControlClient;
let dir: string;

beforeAll(async () => {
  const packaged = ensurePackaged('dev', 'dev');
  stack = await startLocalStack({
    VOXCONF_PORT_BASE: String(await freePortBase()),
    VOXCONF_LATENCY_MS: '5',
    VOXCONF_SCHEDULES: 'off',
    VOXIMPLANT_DEFAULT_RULE_ID: String(ALLOWED_RULE),
    VOXIMPLANT_ALLOWED_RULE_IDS: String(ALLOWED_RULE),
  });
  const { info } = stack;
  emulator = connectEmulator(info.emulator?.origin as string);

  dir = mkdtempSync(path.join(tmpdir(), 'voxconf-walk-'));
  // The whole zip, as Lambda unpacks it: the bundle imports its chunks from beside it.
  extractZip(path.join(packaged.dir, 'http.zip'), dir);
  const file = path.join(dir, 'functions', 'http.mjs');
  // What serverless.yml gives the http function, with the local stack's values.
  const config = YAML.parse(readFileSync(path.join(ROOT, 'serverless.yml'), 'utf8'), { logLevel: 'silent' }) as {
    functions: { http: { environment: Record<string, string> } };
  };
  bundle = Bundle.start(info.functionsNode.bin, file, {
    PATH: process.env.PATH ?? '',
    ...config.functions.http.environment,
    VOXIMPLANT_CREDENTIALS_SECRET_ID: info.secretArn,
    VOXIMPLANT_API_URL: info.voximplantApiUrl,
    VOXIMPLANT_DEFAULT_RULE_ID: String(ALLOWED_RULE),
    VOXIMPLANT_ALLOWED_RULE_IDS: String(ALLOWED_RULE),
    // Resolved by infra/params.cjs for the local stage (the raw serverless.yml holds the ${file(...)} variable).
    PUBLISH_HTTP_EVENTS: 'false',
    POWERTOOLS_SERVICE_NAME: 'voxconf',
    POWERTOOLS_METRICS_NAMESPACE: 'voxconf',
    POWERTOOLS_LOG_LEVEL: 'WARN',
    POWERTOOLS_METRICS_DISABLED: 'true',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: info.secretsManagerEndpoint,
  });
}, 240_000);

afterAll(async () => {
  bundle?.stop();
  if (stack) await stack.stop('SIGKILL').catch(() => {});
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** What a test compares: status, the body as JSON, and the named headers. */
function comparable(answer: ObservedResponse, headers: readonly string[]) {
  const get = (name: string) =>
    answer.headers instanceof Headers
      ? answer.headers.get(name)
      : ((answer.headers as Record<string, unknown> | undefined)?.[name] ?? null);
  return {
    status: answer.status,
    body: JSON.parse(answer.body ?? 'null') as unknown,
    headers: Object.fromEntries(['content-type', 'cache-control', ...headers].map((name) => [name, get(name)])),
  };
}

describe("the README's status table, through the local stack and through the packaged bundle", () => {
  test.each(ROWS.map((row) => [row.name, row] as const))(
    '%s',
    async (_, row) => {
      const { info } = stack as RunningStack;
      const fault = row.fault ? await emulator.fault(row.fault) : undefined;
      try {
        const sent = await rawRequest(info.ports.http, {
          method: 'POST',
          path: '/conferences',
          headers: row.headers,
          ...(row.body ? { body: row.body } : {}),
        });
        const local: ObservedResponse = {
          status: sent.status,
          headers: sent.headers as Record<string, string>,
          body: sent.body,
        };
        const packaged = fromLambdaResult(await (bundle as Bundle).invoke(apiGatewayEvent(row)));

        // Both documented...
        expectMatchesOpenApi('POST', '/conferences', local);
        expectMatchesOpenApi('POST', '/conferences', packaged);
        // ...the row's answer...
        const seen = comparable(local, row.sameHeaders ?? []);
        expect(seen.status).toBe(row.status);
        if (row.code) expect((seen.body as { error: { code: string } }).error.code).toBe(row.code);
        for (const name of row.sameHeaders ?? []) expect(seen.headers[name]).toBeTruthy();
        // ...and the same one both ways: status, body (a 200 joins the session the other started), headers.
        expect(comparable(packaged, row.sameHeaders ?? [])).toEqual(seen);
      } finally {
        if (fault) await emulator.clearFaults(fault.id);
      }
    },
    30_000,
  );
});
