/**
 * The bench's latency proxy on a virtual clock: each chunk is held half a round trip in each direction, and
 * a connection's first bytes one round trip more (the TCP handshake the kernel already did locally), so
 * that a handshake pays its round trips as on a real network. No timing assertion: the events are stamped
 * with the virtual time at which the proxy let the bytes through, and the test moves that clock itself.
 */
import net from 'node:net';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from '@jest/globals';
import { type LatencyProxy, type ProxyClock, startLatencyProxy } from '../../bench/latency-proxy.js';
import { generateSelfSignedCert, opensslAvailable } from '../../local/voximplant-emulator/index.js';

const describeTls = (await opensslAvailable()) ? describe : describe.skip;

/** A clock that stands still until the test fires its next timer. */
function virtualClock() {
  let now = 0;
  let seq = 0;
  const timers: { at: number; seq: number; fn: () => void }[] = [];
  const clock: ProxyClock = {
    now: () => now,
    schedule(fn, ms) {
      const timer = { at: now + ms, seq: seq++, fn };
      timers.push(timer);
      return () => {
        const i = timers.indexOf(timer);
        if (i >= 0) timers.splice(i, 1);
      };
    },
  };
  return {
    clock,
    now: () => now,
    /**
     * Lets real I/O settle, then fires the earliest timer (moving the clock to it), until `done()`.
     * Settling is a short real wait: the sockets are on loopback, only the proxy's timers are virtual.
     */
    async runUntil(done: () => boolean): Promise<void> {
      for (let step = 0; step < 200 && !done(); step++) {
        await new Promise((resolve) => setTimeout(resolve, 15));
        if (done()) return;
        timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
        const next = timers.shift();
        if (!next) continue;
        now = next.at;
        next.fn();
      }
      if (!done()) throw new Error('the exchange did not complete');
    },
  };
}

const listen = (server: net.Server) =>
  new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)),
  );

/** A server that answers `pong` to every `ping`. */
function pingPong(socket: net.Socket) {
  socket.on('data', (chunk) => {
    if (chunk.toString().includes('ping')) socket.write('pong');
  });
  socket.on('error', () => undefined);
}

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function through(server: net.Server, rttMs: number, clock: ProxyClock): Promise<LatencyProxy> {
  const port = await listen(server);
  cleanup.push(() => new Promise((resolve) => server.close(resolve)));
  const proxy = await startLatencyProxy({ target: { host: '127.0.0.1', port }, rttMs, clock });
  cleanup.push(() => proxy.close());
  return proxy;
}

describe('latency proxy', () => {
  it('charges a new TCP connection its handshake: the first answer comes 2 round trips after connecting', async () => {
    const v = virtualClock();
    const server = net.createServer(pingPong);
    const proxy = await through(server, 100, v.clock);
    const events: [string, number][] = [];
    server.on('connection', (socket) => socket.on('data', () => events.push(['server got ping', v.now()])));
    const client = net.connect(proxy.port, '127.0.0.1', () => client.write('ping'));
    cleanup.push(() => client.destroy());
    const pongs = () => events.filter(([what]) => what === 'pong').length;
    client.on('data', () => events.push(['pong', v.now()]));
    await v.runUntil(() => pongs() === 1);
    // Later requests on the open connection pay one round trip.
    const sent = v.now();
    client.write('ping');
    await v.runUntil(() => pongs() === 2);
    expect(events).toEqual([
      ['server got ping', 150],
      ['pong', 200],
      ['server got ping', sent + 50],
      ['pong', sent + 100],
    ]);
    expect(proxy.connections()).toBe(1);
  });

  it.each([0, 30])('keeps the order of the bytes and the half-closes (%i ms)', async (rttMs) => {
    const v = virtualClock();
    const received: string[] = [];
    const server = net.createServer({ allowHalfOpen: true }, (socket) => {
      socket.on('data', (chunk) => received.push(chunk.toString()));
      socket.on('end', () => {
        received.push('<end>');
        socket.end('bye');
      });
    });
    const proxy = await through(server, rttMs, v.clock);
    let answer = '';
    const client = net.connect({ port: proxy.port, host: '127.0.0.1', allowHalfOpen: true }, () => {
      for (const part of ['a', 'b', 'c']) client.write(part);
      client.end();
    });
    cleanup.push(() => client.destroy());
    let ended = false;
    client.on('data', (chunk) => {
      answer += chunk.toString();
    });
    client.on('end', () => {
      ended = true;
    });
    await v.runUntil(() => ended);
    expect(received.join('')).toBe('abc<end>');
    expect(answer).toBe('bye');
  });

  describeTls('over TLS 1.3', () => {
    it('a fresh connection is ready after 2 round trips (TCP, TLS) and answers after 3', async () => {
      const cert = await generateSelfSignedCert();
      const v = virtualClock();
      const server = tls.createServer({ key: cert.key, cert: cert.cert }, pingPong) as unknown as net.Server;
      const proxy = await through(server, 100, v.clock);
      const events: [string, number][] = [];
      const client = tls.connect({ port: proxy.port, host: '127.0.0.1', ca: cert.cert }, () => {
        events.push(['secureConnect', v.now()]);
        client.write('ping');
      });
      cleanup.push(() => client.destroy());
      client.on('data', (chunk) => {
        if (chunk.toString() === 'pong') events.push(['pong', v.now()]);
      });
      await v.runUntil(() => events.length === 2);
      expect(events).toEqual([
        ['secureConnect', 200],
        ['pong', 300],
      ]);
    });
  });
});
