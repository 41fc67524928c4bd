/**
 * Points the AWS SDK at local stand-ins through the environment, as Lambda code sees it, and undoes it.
 *
 *   const restore = setAwsTestEnv({ secretsManager: sm.endpoint, sqs: sqs.endpoint });
 *   afterAll(restore);
 *
 * Sets AWS_REGION=us-east-1, AWS_ACCESS_KEY_ID=test, AWS_SECRET_ACCESS_KEY=test,
 * AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true and AWS_EC2_METADATA_DISABLED=true; removes
 * AWS_SESSION_TOKEN, AWS_PROFILE and AWS_DEFAULT_PROFILE so that no real credentials or profile are used.
 * Clients must be created after this call: the SDK reads the environment when a client is built.
 */
export interface AwsTestEndpoints {
  /** Sets AWS_ENDPOINT_URL_SECRETS_MANAGER. */
  readonly secretsManager?: string;
  /** Sets AWS_ENDPOINT_URL_SQS. */
  readonly sqs?: string;
  /** Any other variables to set (undefined removes one), restored with the rest. */
  readonly extra?: Readonly<Record<string, string | undefined>>;
}

export function setAwsTestEnv(endpoints: AwsTestEndpoints = {}): () => void {
  const changes: Record<string, string | undefined> = {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_SESSION_TOKEN: undefined,
    AWS_PROFILE: undefined,
    AWS_DEFAULT_PROFILE: undefined,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    AWS_EC2_METADATA_DISABLED: 'true',
    ...(endpoints.secretsManager !== undefined ? { AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoints.secretsManager } : {}),
    ...(endpoints.sqs !== undefined ? { AWS_ENDPOINT_URL_SQS: endpoints.sqs } : {}),
    ...endpoints.extra,
  };
  const saved = new Map<string, string | undefined>();
  for (const [name, value] of Object.entries(changes)) {
    saved.set(name, process.env[name]);
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  let restored = false;
  return () => {
    if (restored) return;
    restored = true;
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}
