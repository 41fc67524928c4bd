/**
 * WHAT-IF SIMULATION of a lib change: GetSecretValue without the AWS SDK, one SigV4-signed awsJson1_1 POST
 * over node:https with a keep-alive agent (what the floor does). Aliased for
 * '@aws-sdk/client-secrets-manager' in the what-if build only: it implements just the surface
 * lib/credentials.ts uses (client.send(new GetSecretValueCommand({SecretId})), errors with `name` and
 * `$metadata.httpStatusCode`), with per-attempt timeouts and 3 attempts for 5xx, throttling and network
 * errors. It measures how much of a cold start the SDK costs; it is not a drop-in for production as is.
 */
import { createHash, createHmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';

export class GetSecretValueCommand {
  constructor(readonly input: { SecretId: string; VersionStage?: string }) {}
}

interface Options {
  maxAttempts?: number;
  requestHandler?: { connectionTimeout?: number; requestTimeout?: number };
}

const sha256 = (data: string) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();

export class SecretsManagerClient {
  private readonly url: URL;
  private readonly transport: typeof https | typeof http;
  private readonly agent: http.Agent;
  private readonly region: string;
  constructor(private readonly options: Options = {}) {
    this.region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
    this.url = new URL(
      process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER ?? `https://secretsmanager.${this.region}.amazonaws.com`,
    );
    this.transport = this.url.protocol === 'http:' ? http : https;
    this.agent = new this.transport.Agent({ keepAlive: true });
  }

  async send(command: GetSecretValueCommand): Promise<{ SecretString?: string; VersionId?: string }> {
    const attempts = this.options.maxAttempts ?? 3;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once(command);
      } catch (error) {
        const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        const name = (error as Error).name;
        const retryable = status === undefined || status >= 500 || name === 'ThrottlingException';
        if (!retryable || attempt >= attempts) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt * Math.random()));
      }
    }
  }

  private once(command: GetSecretValueCommand): Promise<{ SecretString?: string; VersionId?: string }> {
    const body = JSON.stringify(command.input);
    const amzDate = new Date()
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d{3}/, '');
    const day = amzDate.slice(0, 8);
    const token = process.env.AWS_SESSION_TOKEN;
    const headers: Record<string, string> = {
      'content-type': 'application/x-amz-json-1.1',
      host: this.url.host,
      'x-amz-date': amzDate,
      'x-amz-target': 'secretsmanager.GetSecretValue',
      ...(token ? { 'x-amz-security-token': token } : {}),
    };
    const names = Object.keys(headers).sort();
    const canonical = [
      'POST',
      '/',
      '',
      ...names.map((n) => `${n}:${headers[n]}`),
      '',
      names.join(';'),
      sha256(body),
    ].join('\n');
    const scope = `${day}/${this.region}/secretsmanager/aws4_request`;
    let key = hmac(`AWS4${process.env.AWS_SECRET_ACCESS_KEY ?? ''}`, day);
    for (const part of [this.region, 'secretsmanager', 'aws4_request']) key = hmac(key, part);
    const signature = createHmac('sha256', key)
      .update(['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n'))
      .digest('hex');
    headers.authorization = `AWS4-HMAC-SHA256 Credential=${process.env.AWS_ACCESS_KEY_ID}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`;
    return new Promise((resolve, reject) => {
      const req = this.transport.request(
        this.url,
        {
          method: 'POST',
          agent: this.agent,
          headers: { ...headers, 'content-length': Buffer.byteLength(body) },
          timeout: this.options.requestHandler?.requestTimeout ?? 2000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            let parsed: Record<string, unknown> = {};
            try {
              parsed = JSON.parse(text);
            } catch {
              // not JSON: an error below
            }
            if (status === 200) return resolve(parsed as { SecretString?: string; VersionId?: string });
            const type = String(parsed.__type ?? res.headers['x-amzn-errortype'] ?? 'UnknownError')
              .split('#')
              .pop()!
              .split(':')[0]!;
            reject(
              Object.assign(new Error(String(parsed.message ?? `HTTP ${status}`)), {
                name: type,
                $metadata: { httpStatusCode: status },
              }),
            );
          });
        },
      );
      req.on('timeout', () => req.destroy(Object.assign(new Error('request timed out'), { name: 'TimeoutError' })));
      req.on('error', reject);
      req.end(body);
    });
  }
}
