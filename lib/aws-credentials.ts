/**
 * Bundled in place of @aws-sdk/credential-provider-node (serverless.yml custom.esbuild.alias): in Lambda,
 * and in the local stack, credentials are always in the environment (AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), so the SDK's default chain (SSO, profiles, IMDS, process
 * credentials: about 130 KiB parsed on every cold start) never runs. Unbundled code keeps the full chain.
 */
export { fromEnv as defaultProvider } from '@aws-sdk/credential-provider-env';
