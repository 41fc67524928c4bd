/** Structured logs and EMF metrics, read from what the handlers actually write. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type Captured, captureOutput } from '../helpers/capture.js';
import { httpEvent, lambdaContext } from '../helpers/events.js';
import type { CoreFixture } from '../helpers/fixture.js';

// Powertools reads its level and switches when the logger and metrics are built, at first import of
// lib/: set them before importing anything that loads it.
Object.assign(process.env, {
  POWERTOOLS_LOG_LEVEL: 'DEBUG',
  POWERTOOLS_METRICS_DISABLED: 'false',
  POWERTOOLS_METRICS_NAMESPACE: 'voxconf-test',
  POWERTOOLS_SERVICE_NAME: 'voxconf',
});
const { startCoreFixture, SECRET_NAME } = await import('../helpers/fixture.js');

let fx: CoreFixture;
let handler: (event: unknown, context: unknown) => Promise<{ statusCode: number }>;
let output: Captured;
const saved = { ...process.env, POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true' };

beforeAll(async () => {
  fx = await startCoreFixture();
  Object.assign(process.env, fx.env);
  ({ handler } = (await import('../../functions/http.js')) as never);
  output = captureOutput();
});
afterAll(async () => {
  output.restore();
  process.env = saved;
  await fx.close();
});

type Emf = Record<string, unknown> & {
  _aws: {
    CloudWatchMetrics: Array<{
      Namespace: string;
      Dimensions: string[][];
      Metrics: Array<{ Name: string; Unit: string }>;
    }>;
  };
};

function metricLines(): Emf[] {
  return output.json().filter((line) => '_aws' in line) as Emf[];
}
function metricNames(lines: Emf[]): string[] {
  return lines.flatMap((line) => line._aws.CloudWatchMetrics.flatMap((m) => m.Metrics.map((x) => x.Name)));
}

describe('observability', () => {
  it('logs one JSON line per event with correlation id, name, outcome and latency, and emits EMF metrics', async () => {
    const event = httpEvent(JSON.stringify({ conference_name: 'obs-ok', rule_id: fx.account.ruleId }));
    fx.emulator.fault({ type: 'http', status: 503, times: 1 } as never);
    expect((await handler(event, lambdaContext())).statusCode).toBe(200);

    const logs = output.json().filter((line) => 'level' in line);
    const mine = logs.filter((line) => line.correlation_id === event.requestContext.requestId);
    const started = mine.find((line) => line.message === 'conference started');
    expect(started).toMatchObject({ level: 'INFO', service: 'voxconf', conference_name: 'obs-ok', outcome: 'started' });
    expect(typeof started!.latency_ms).toBe('number');
    expect(mine.find((line) => line.message === 'retrying StartConference')).toMatchObject({
      error_code: 'voximplant_unavailable',
    });
    // Every log line written is JSON.
    const text = output
      .text()
      .split('\n')
      .filter((line) => line.trim() !== '');
    expect(text.every((line) => line.startsWith('{'))).toBe(true);

    const lines = metricLines();
    expect(lines.every((line) => line._aws.CloudWatchMetrics.every((m) => m.Namespace === 'voxconf-test'))).toBe(true);
    const names = metricNames(lines);
    expect(names).toEqual(expect.arrayContaining(['ConferencesStarted', 'Retries', 'UpstreamLatency']));
    const latency = lines.find((line) => 'UpstreamLatency' in line)!;
    expect(latency._aws.CloudWatchMetrics[0]!.Metrics.find((m) => m.Name === 'UpstreamLatency')!.Unit).toBe(
      'Milliseconds',
    );
  });

  it('counts Voximplant errors by code and credential refreshes', async () => {
    const before = metricLines().length;
    fx.emulator.fault({ type: 'error', code: 147, times: 1 } as never);
    expect(
      (
        await handler(
          httpEvent(JSON.stringify({ conference_name: 'obs-147', rule_id: fx.account.ruleId })),
          lambdaContext(),
        )
      ).statusCode,
    ).toBe(422);
    // Rotate the key so the next call gets code 100 once and refreshes.
    const rotated = fx.emulator.addKey(fx.account.accountId);
    fx.secrets.putSecret(SECRET_NAME, { secretString: JSON.stringify(rotated.credentials) });
    fx.emulator.removeKey(fx.account.keyId);
    expect(
      (
        await handler(
          httpEvent(JSON.stringify({ conference_name: 'obs-rotate', rule_id: fx.account.ruleId })),
          lambdaContext(),
        )
      ).statusCode,
    ).toBe(200);

    const lines = metricLines().slice(before);
    const byCode = lines
      .filter((line) => line.voximplant_code !== undefined)
      .map((line) => [line.voximplant_code, line.VoximplantErrors]);
    expect(byCode).toEqual(
      expect.arrayContaining([
        ['147', 1],
        ['100', 1],
      ]),
    );
    expect(metricNames(lines)).toContain('CredentialRefreshes');
    const failures = lines.find((line) => line.error_code === 'voximplant_rejected_request');
    expect(failures).toMatchObject({ ConferenceFailures: 1 });
  });
});
