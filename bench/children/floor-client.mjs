/**
 * The floor: the least any client can do for one StartConference from Lambda, with node:http(s) and
 * node:crypto only. GetSecretValue (SigV4-signed by hand, awsJson1_1), key import, an RS256 JWT signed by
 * hand, then the StartConference POST (urlencoded, the same body voxconf sends) on a keep-alive agent.
 * No retries, no validation, no logging, no metrics: what voxconf adds on top of this is its overhead.
 */
// Builtins as require() returns them: on Node 22 an ESM `import` of node:http evaluates its lazy getters and
// loads undici (~20 ms, ~9 MiB) for nothing. The floor is the least a client must do, so it does not.
const http = process.getBuiltinModule('node:http');
const https = process.getBuiltinModule('node:https');
const { createHash, createHmac, createPrivateKey, sign } = process.getBuiltinModule('node:crypto');

const b64url = (data) => Buffer.from(data).toString('base64url');
const sha256 = (data) => createHash('sha256').update(data).digest('hex');
const hmac = (key, data) => createHmac('sha256', key).update(data).digest();

/** One request, the whole answer as text. */
function request(transport, url, options, body) {
  return new Promise((resolve, reject) => {
    const req = transport.request(url, options, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * @param {{ secretsEndpoint: string, secretId: string, region: string, accessKeyId: string,
 *   secretAccessKey: string, apiUrl: string }} options
 */
export function createFloorClient(options) {
  const smUrl = new URL(options.secretsEndpoint);
  const smTransport = smUrl.protocol === 'https:' ? https : http;
  const smAgent = new smTransport.Agent({ keepAlive: true });
  const apiUrl = new URL(`${options.apiUrl.replace(/\/+$/, '')}/StartConference`);
  const apiTransport = apiUrl.protocol === 'https:' ? https : http;
  const apiAgent = new apiTransport.Agent({ keepAlive: true });

  /** GetSecretValue with a real SigV4 signature (service secretsmanager). */
  async function getSecretValue() {
    const body = JSON.stringify({ SecretId: options.secretId });
    const amzDate = new Date()
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d{3}/, '');
    const day = amzDate.slice(0, 8);
    const headers = {
      'content-type': 'application/x-amz-json-1.1',
      host: smUrl.host,
      'x-amz-date': amzDate,
      'x-amz-target': 'secretsmanager.GetSecretValue',
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
    const scope = `${day}/${options.region}/secretsmanager/aws4_request`;
    const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
    let key = hmac(`AWS4${options.secretAccessKey}`, day);
    for (const part of [options.region, 'secretsmanager', 'aws4_request']) key = hmac(key, part);
    const signature = createHmac('sha256', key).update(toSign).digest('hex');
    const authorization = `AWS4-HMAC-SHA256 Credential=${options.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`;
    const res = await request(
      smTransport,
      smUrl,
      {
        method: 'POST',
        agent: smAgent,
        headers: { ...headers, authorization, 'content-length': Buffer.byteLength(body) },
      },
      body,
    );
    if (res.status !== 200) throw new Error(`GetSecretValue answered ${res.status}: ${res.body.slice(0, 200)}`);
    return JSON.parse(res.body).SecretString;
  }

  /** credentials.json -> account, key id and an imported private key. */
  function importCredentials(secretString) {
    const creds = JSON.parse(secretString);
    return { accountId: creds.account_id, keyId: creds.key_id, key: createPrivateKey(creds.private_key) };
  }

  /** RS256 JWT as Voximplant wants it (same claims and backdating as voxconf's defaults). */
  function signToken(credentials, lifetimeSeconds = 600) {
    const iat = Math.floor(Date.now() / 1000) - 10;
    const header = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: credentials.keyId }));
    const payload = b64url(JSON.stringify({ iss: credentials.accountId, iat, exp: iat + lifetimeSeconds }));
    const input = `${header}.${payload}`;
    return `${input}.${sign('sha256', Buffer.from(input), credentials.key).toString('base64url')}`;
  }

  /** The StartConference POST; resolves to the parsed success body, throws on anything else. */
  async function startConference(token, params) {
    const body = Buffer.from(new URLSearchParams(params).toString(), 'utf8');
    const res = await request(
      apiTransport,
      apiUrl,
      {
        method: 'POST',
        agent: apiAgent,
        headers: {
          'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
          'content-length': body.length,
          accept: 'application/json',
          authorization: `Bearer ${token}`,
        },
      },
      body,
    );
    const parsed = JSON.parse(res.body);
    if (res.status !== 200 || parsed.result !== 1)
      throw new Error(`StartConference failed: ${res.status} ${res.body.slice(0, 200)}`);
    return parsed;
  }

  return {
    getSecretValue,
    importCredentials,
    signToken,
    startConference,
    /** The whole cold path: fetch, import, sign, call. Returns the token for later warm calls. */
    async firstCall(params) {
      const credentials = importCredentials(await getSecretValue());
      const token = signToken(credentials);
      const result = await startConference(token, params);
      return { token, result };
    },
    close() {
      smAgent.destroy();
      apiAgent.destroy();
    },
  };
}
