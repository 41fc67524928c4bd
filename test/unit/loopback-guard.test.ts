import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, relative } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import {
  createLocalServer,
  type GuardPolicy,
  guardAllServers,
  refusalOf,
  unguardAllServers,
} from '../../local/loopback-guard.mjs';
import { ROOT } from '../helpers/local-stack.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

function call(port: number, headers: Record<string, string>, method = 'POST'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path: '/', headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end('Action=SendMessage');
  });
}

const corsHeaders = (answer: Answer) =>
  Object.keys(answer.headers).filter((name) => name.startsWith('access-control-'));

/** A server that answers with CORS of its own, as serverless offline or a DynamoDB-compatible server would. */
const permissive = (_req: unknown, res: import('node:http').ServerResponse) => {
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.writeHead(200, { 'access-control-allow-credentials': 'true', 'content-type': 'text/plain' });
  res.end('ok');
};

const servers: Server[] = [];
afterEach(async () => {
  unguardAllServers();
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
});

async function serve(policy?: GuardPolicy): Promise<number> {
  const server = createLocalServer(permissive, policy === undefined ? {} : { policy });
  servers.push(server);
  return listen(server);
}

describe('local stack loopback guard', () => {
  it('serves local tools and refuses what a web page could send, in the documented error shape', async () => {
    const port = await serve();
    expect((await call(port, {})).status).toBe(200);
    expect((await call(port, { host: `localhost:${port}` })).status).toBe(200);
    expect((await call(port, { host: `[::1]:${port}` })).status).toBe(200);
    // The SQS Query protocol is a form POST: only the Lambda API refuses form bodies.
    expect((await call(port, { 'content-type': 'application/x-www-form-urlencoded' })).status).toBe(200);

    const fromPage = await call(port, {
      origin: 'http://evil.example',
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(fromPage.status).toBe(403);
    expect(JSON.parse(fromPage.body)).toEqual({ error: { code: 'forbidden_origin', message: expect.any(String) } });
    const rebound = await call(port, { host: `rebound.evil.example:${port}` });
    expect(rebound.status).toBe(403);
    expect(JSON.parse(rebound.body)).toEqual({ error: { code: 'forbidden_host', message: expect.any(String) } });
    // Even `Origin: null` (a sandboxed frame, a file: page) is a web page.
    expect((await call(port, { origin: 'null' })).status).toBe(403);
    for (const answer of [fromPage, rebound]) expect(corsHeaders(answer)).toEqual([]);
  });

  it("strips the server's own CORS headers: none unless an origin is configured", async () => {
    const port = await serve();
    const answer = await call(port, {});
    expect(answer.status).toBe(200);
    expect(corsHeaders(answer)).toEqual([]);
  });

  it('lets a configured origin through, and only it, with the CORS headers its server gives', async () => {
    const port = await serve({ corsOrigins: ['https://app.example'] });
    const allowed = await call(port, { origin: 'https://app.example' });
    expect(allowed.status).toBe(200);
    expect(allowed.headers['access-control-allow-origin']).toBe('*');
    expect((await call(port, { origin: 'https://app.example.evil.example' })).status).toBe(403);
    expect((await call(port, { origin: 'http://app.example' })).status).toBe(403);
    // A configured origin does not make a foreign Host acceptable.
    expect((await call(port, { origin: 'https://app.example', host: 'app.example' })).status).toBe(403);
  });

  it('the Lambda API policy: 415 for the content types a page sends without a preflight', async () => {
    const port = await serve({ refuseBrowserContentTypes: true });
    for (const type of [
      'text/plain',
      'TEXT/PLAIN; charset=utf-8',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=----x',
    ]) {
      const answer = await call(port, { 'content-type': type });
      expect({ type, status: answer.status }).toEqual({ type, status: 415 });
      expect(JSON.parse(answer.body).error.code).toBe('unsupported_media_type');
    }
    for (const type of ['application/json', 'application/octet-stream', 'application/x-amz-json-1.1']) {
      expect({ type, status: (await call(port, { 'content-type': type })).status }).toEqual({ type, status: 200 });
    }
    // The AWS CLI and SDK send no content type at all on some requests.
    expect((await call(port, {})).status).toBe(200);
  });

  it('refusalOf says why without answering', () => {
    const req = (headers: Record<string, string>) => ({ headers }) as unknown as import('node:http').IncomingMessage;
    expect(refusalOf(req({ host: '127.0.0.1:1' }))).toBeUndefined();
    expect(refusalOf(req({ host: 'LOCALHOST' }))).toBeUndefined();
    expect(refusalOf(req({ host: '127.0.0.2:8787' }))).toBeUndefined();
    expect(refusalOf(req({}))).toBeUndefined();
    expect(refusalOf(req({ host: '[::1' }))?.code).toBe('forbidden_host');
    expect(refusalOf(req({ host: '127.0.0.1.nip.io' }))?.code).toBe('forbidden_host');
    expect(refusalOf(req({ host: 'localhost.evil.example:80' }))?.code).toBe('forbidden_host');
    expect(refusalOf(req({ origin: 'https://a.example' }))?.code).toBe('forbidden_origin');
  });

  it('guardAllServers guards every server of the process, those made by other code included', async () => {
    guardAllServers((port) => (port === -1 ? { refuseBrowserContentTypes: true } : {}));
    const server = createServer(permissive);
    servers.push(server);
    const port = await listen(server);
    expect((await call(port, { origin: 'https://evil.example' })).status).toBe(403);
    expect((await call(port, { host: 'evil.example' })).status).toBe(403);
    const ok = await call(port, {});
    expect(ok.status).toBe(200);
    expect(corsHeaders(ok)).toEqual([]);
    // The OPTIONS preflight too, before the server's own CORS handling can answer it.
    expect((await call(port, { origin: 'https://evil.example' }, 'OPTIONS')).status).toBe(403);
  });
});

describe('every local server is guarded by construction', () => {
  it('no file under local/ creates an HTTP server except through local/loopback-guard.mjs', () => {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (/\.(ts|mts|js|mjs|cjs)$/.test(name)) files.push(path);
      }
    };
    walk(join(ROOT, 'local'));
    const offenders = files
      .filter((path) => !path.endsWith('loopback-guard.mjs'))
      .filter((path) => {
        const text = readFileSync(path, 'utf8');
        return (
          /import\s*\{[^}]*\bcreateServer\b[^}]*\}\s*from\s*'node:https?'/.test(text) ||
          /\bhttps?\.createServer\(/i.test(text)
        );
      })
      .map((path) => relative(ROOT, path));
    expect(offenders).toEqual([]);
  });
});
