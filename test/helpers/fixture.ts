/**
 * The real parts of one voxconf process on loopback: the Voximplant emulator, the Secrets Manager
 * stand-in holding a freshly generated credentials.json, and (optionally) local SQS, with the AWS
 * SDK pointed at them through its own AWS_ENDPOINT_URL_* variables.
 */

import { type CreateServiceOptions, createConferenceService, VoximplantClient } from '../../lib/index.js';
import { type SecretsManagerStandIn, startSecretsManager } from '../../local/secrets-manager.js';
import { type LocalSqs, startSqs } from '../../local/sqs.js';
import type { CreatedAccount, EmulatorOptions, VoximplantEmulator } from '../../local/voximplant-emulator/index.js';
import { startEmulator } from '../../local/voximplant-emulator/index.js';
import { setAwsTestEnv } from './aws-env.js';

export const SECRET_NAME = 'voxconf/test/credentials';

export interface CoreFixture {
  readonly emulator: VoximplantEmulator;
  readonly secrets: SecretsManagerStandIn;
  readonly account: CreatedAccount;
  /** Environment a voxconf function would get (secret id, API URL). */
  readonly env: Record<string, string>;
  service(
    options?: CreateServiceOptions & { env?: Record<string, string> },
  ): ReturnType<typeof createConferenceService>;
  close(): Promise<void>;
}

export async function startCoreFixture(
  options: { emulator?: EmulatorOptions; env?: Record<string, string> } = {},
): Promise<CoreFixture> {
  const emulator = await startEmulator(options.emulator);
  const secrets = await startSecretsManager();
  const account = emulator.createAccount({ ruleCount: 2 });
  secrets.putSecret(SECRET_NAME, { secretString: JSON.stringify(account.credentials) });
  const restore = setAwsTestEnv({ secretsManager: secrets.endpoint });
  const env = {
    VOXIMPLANT_CREDENTIALS_SECRET_ID: SECRET_NAME,
    VOXIMPLANT_API_URL: emulator.url,
    VOXIMPLANT_RETRY_BASE_DELAY_MS: '10',
    VOXIMPLANT_RETRY_MAX_DELAY_MS: '50',
    ...options.env,
  };
  const clients: VoximplantClient[] = [];
  return {
    emulator,
    secrets,
    account,
    env,
    service(serviceOptions = {}) {
      // Each service gets its own keep-alive client, closed with the fixture.
      const client =
        serviceOptions.client ??
        new VoximplantClient({ apiUrl: serviceOptions.env?.VOXIMPLANT_API_URL ?? env.VOXIMPLANT_API_URL });
      clients.push(client);
      return createConferenceService({ ...serviceOptions, client, env: { ...env, ...serviceOptions.env } });
    },
    async close() {
      for (const client of clients) client.close();
      restore();
      await Promise.all([emulator.close(), secrets.close()]);
    },
  };
}

export interface TriggerFixture extends CoreFixture {
  readonly sqs: LocalSqs;
}

/**
 * The core fixture plus local SQS as the dead-letter queue, with process.env set as the queue and
 * schedule functions see it (restored by close()).
 */
export async function startTriggerFixture(env: Record<string, string> = {}): Promise<TriggerFixture> {
  const core = await startCoreFixture();
  const sqs = await startSqs();
  const saved = { ...process.env };
  Object.assign(process.env, core.env, {
    AWS_ENDPOINT_URL_SQS: sqs.endpoint,
    DEAD_LETTER_QUEUE_URL: sqs.deadLetterQueueUrl,
    ...env,
  });
  return {
    ...core,
    sqs,
    async close() {
      process.env = saved;
      await Promise.all([core.close(), sqs.close()]);
    },
  };
}
