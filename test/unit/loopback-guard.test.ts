import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from '@jest/globals';
import { refuseBrowserRequest } from '../../local/loopback-guard.js';

function serve(): Promise<Server> {
  const server = createServer((req, res) => {
    if (refuseBrowserRequest(req, res)) return;
    res.end('ok');
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function call(port: number, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/', headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end('Action=SendMessage');
  });
}

describe('local stack loopback guard', () => {
  it('serves local tools and refuses what a web page could send', async () => {
    const server = await serve();
    const { port } = server.address() as AddressInfo;
    try {
      expect(await call(port, {})).toBe(200);
      expect(await call(port, { host: `localhost:${port}` })).toBe(200);
      expect(
        await call(port, { origin: 'http://evil.example', 'content-type': 'application/x-www-form-urlencoded' }),
      ).toBe(403);
      expect(await call(port, { host: `rebound.evil.example:${port}` })).toBe(403);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
