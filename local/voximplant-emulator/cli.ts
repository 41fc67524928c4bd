/**
 * Runs the emulator on its own, with a throwaway account, key and rule:
 *
 *   node --import tsx local/voximplant-emulator/cli.ts --port 8787 --latency 0 --credentials-out .local-state/credentials.json
 *
 * stdout gets one JSON line once it listens (url, origin, accountId, keyId, ruleId, credentialsPath, ...)
 * for scripts to parse; stderr gets a human-readable summary. SIGINT/SIGTERM stop it.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startEmulator } from './server.js';
import { generateSelfSignedCert } from './tls.js';
import type { JoinAnswers, KeyRole, ScenarioKind } from './types.js';

const USAGE = `Usage: node --import tsx local/voximplant-emulator/cli.ts [options]
  --port <n>              port (default 0: a free one)
  --host <addr>           loopback address (default 127.0.0.1)
  --latency <ms>          delay added to every API answer (default 0)
  --max-concurrent <n>    in-flight API requests before HTTP 429 (default 200)
  --leeway <s>            clock skew tolerated for iat/exp (default 10)
  --account-id <n>        id of the throwaway account (default generated)
  --rule-count <n>        rules to create for it (default 1)
  --scenario-kind <k>     scenario of those rules: reference (voxconf's contract, default) or example
  --role <role>           role of its key: Owner (default), Admin, Developer, CallsSMS, Supervisor, Support
  --empty-session-timeout <ms>  a session without participants ends after this (default 60000)
  --grace <ms>            reference scenario: the session ends this long after its last participant left (default 30000)
  --join-answers <mode>   a join answers the same call_session_history_id (same, default) or a new one (new-id)
  --credentials-out <p>   where to write credentials.json (mode 0600; default a temp dir removed on exit)
  --tls                   serve HTTPS with a self-signed certificate made by openssl
  --cert-out <p>          where to write that certificate (PEM) for clients to trust (with --tls)
  --help`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      latency: { type: 'string' },
      'max-concurrent': { type: 'string' },
      leeway: { type: 'string' },
      'account-id': { type: 'string' },
      'rule-count': { type: 'string' },
      'scenario-kind': { type: 'string' },
      role: { type: 'string' },
      'empty-session-timeout': { type: 'string' },
      grace: { type: 'string' },
      'join-answers': { type: 'string' },
      'credentials-out': { type: 'string' },
      tls: { type: 'boolean' },
      'cert-out': { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    process.stderr.write(`${USAGE}\n`);
    return;
  }

  const tempDir =
    values['credentials-out'] === undefined ? mkdtempSync(join(tmpdir(), 'voximplant-emulator-')) : undefined;
  const credentialsPath = resolve(values['credentials-out'] ?? join(tempDir as string, 'credentials.json'));
  const tls = values.tls ? await generateSelfSignedCert() : undefined;

  const emulator = await startEmulator({
    ...number(values.port, 'port', 'port'),
    ...(values.host !== undefined ? { host: values.host } : {}),
    ...number(values.latency, 'latency', 'latencyMs'),
    ...number(values['max-concurrent'], 'max-concurrent', 'maxConcurrent'),
    ...number(values.leeway, 'leeway', 'leewaySeconds'),
    ...number(values['empty-session-timeout'], 'empty-session-timeout', 'emptySessionTimeoutMs'),
    ...number(values.grace, 'grace', 'graceMs'),
    ...(values['join-answers'] !== undefined ? { joinAnswers: values['join-answers'] as JoinAnswers } : {}),
    ...(tls !== undefined ? { tls } : {}),
  });
  const account = emulator.createAccount({
    ...number(values['account-id'], 'account-id', 'accountId'),
    ...number(values['rule-count'], 'rule-count', 'ruleCount'),
    ...(values['scenario-kind'] !== undefined ? { scenarioKind: values['scenario-kind'] as ScenarioKind } : {}),
    ...(values.role !== undefined ? { role: values.role as KeyRole } : {}),
  });
  writePrivate(credentialsPath, `${JSON.stringify(account.credentials, null, 2)}\n`);

  let certPath: string | undefined;
  if (tls !== undefined) {
    certPath = resolve(values['cert-out'] ?? join(dirname(credentialsPath), 'emulator-cert.pem'));
    writeFileSync(certPath, tls.cert);
  }

  const ready = {
    event: 'ready',
    url: emulator.url,
    origin: emulator.origin,
    controlUrl: `${emulator.origin}/_emulator`,
    port: emulator.port,
    accountId: account.accountId,
    keyId: account.keyId,
    ruleId: account.ruleId,
    ruleIds: account.ruleIds,
    role: account.role,
    sessionSettings: emulator.sessionSettings(),
    credentialsPath,
    ...(certPath !== undefined ? { certPath } : {}),
  };
  process.stdout.write(`${JSON.stringify(ready)}\n`);
  process.stderr.write(
    `Voximplant emulator on ${emulator.url}\n` +
      `  control API  ${ready.controlUrl}\n` +
      `  account      ${account.accountId} (key ${account.keyId})\n` +
      `  rule id      ${account.ruleIds.join(', ')}\n` +
      `  credentials  ${credentialsPath}\n` +
      (certPath !== undefined ? `  certificate  ${certPath}\n` : ''),
  );

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await emulator.close();
    if (tempDir !== undefined) rmSync(tempDir, { recursive: true, force: true });
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

/** The file holds a private key: owner-only, also when it already existed with wider permissions. */
function writePrivate(path: string, content: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content, { mode: 0o600 });
  chmodSync(path, 0o600);
}

function number<K extends string>(raw: string | undefined, flag: string, key: K): Partial<Record<K, number>> {
  if (raw === undefined) return {};
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value))
    throw new Error(`--${flag} must be a number, not ${JSON.stringify(raw)}`);
  return { [key]: value } as Record<K, number>;
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`);
  process.exit(1);
});
