/**
 * PROPOSED as lib/aws-credentials.ts, with serverless.yml `custom.esbuild.alias:
 * { '@aws-sdk/credential-provider-node': './lib/aws-credentials.ts' }` and `@aws-sdk/credential-provider-env`
 * as a direct dependency (it is already installed, as a dependency of the SDK; its version follows the SDK's).
 *
 * Lambda puts the function's role credentials in the environment, and the SDK's default chain tries the
 * environment first; the rest of the chain (shared ini files, SSO, login, credential_process, web identity,
 * container and instance metadata, and the STS/SSO clients they need) is bundled but never runs:
 * 92 KiB of every function bundle (25%), ~17 ms of a cold import. The clients read `credentialDefaultProvider`
 * from this module; this gives them the environment provider alone.
 *
 * (The bench uses this file only to build a what-if bundle; nothing in lib/ imports it.)
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';

export const defaultProvider = fromEnv;
