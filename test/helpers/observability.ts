// Helpers for the observability tests: a real in-process server with the observability flags, a
// fake-GPU telemetry file the test writes, free TCP ports, and polling until a condition holds.

import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { StintClient } from '../../src/api/client.js';
import { serverConfig, type ServerFlags } from '../../src/config.js';
import { startServer, type RunningServer } from '../../src/server/start.js';
import { tempHome } from './server.js';

export interface ObservedServer {
  server: RunningServer;
  client: StintClient;
  home: string;
  token: string;
  telemetryFile: string;
  /** Writes the fake GPUs' next reading (what nvidia-smi would have said). */
  setGpus(gpus: Array<Record<string, unknown>>): void;
}

export async function observedServer(flags: Partial<ServerFlags> = {}, gpus = 'A100:2', beforeStart?: (home: string) => Promise<void>): Promise<ObservedServer> {
  const home = await tempHome();
  await beforeStart?.(home);
  const telemetryFile = join(home, 'gpu-telemetry.json');
  // Written aside and renamed into place, so the sampler never reads half a file.
  const write = (list: Array<Record<string, unknown>>) => {
    writeFileSync(telemetryFile + '.tmp', JSON.stringify({ gpus: list }));
    renameSync(telemetryFile + '.tmp', telemetryFile);
  };
  write(Array.from({ length: Number(gpus.split(':')[1] ?? 2) }, (_, index) => ({ index, utilization: 0, memoryUsedMb: 0 })));
  const server = await startServer(serverConfig({
    allowRootJobs: true, killGrace: '1', telemetryInterval: '0.2', idlePolicy: 'off',
    ...flags, home, port: '0', gpus, gpuTelemetryFile: telemetryFile,
  }));
  const token = readFileSync(join(home, 'token'), 'utf8').trim();
  return { server, client: new StintClient(server.url, token), home, token, telemetryFile, setGpus: write };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Calls `probe` until it returns a value other than undefined; fails with `what` after the timeout. */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** An authenticated call to the server's API that returns the parsed JSON and status. */
export async function api(s: { server: RunningServer; token: string }, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(s.server.url + path, {
    method,
    headers: { authorization: `Bearer ${s.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

export interface Receiver {
  url: string;
  /** Every request body received, in order (including those answered with an error). */
  bodies: unknown[];
  /** Answers the next `n` requests with HTTP 500 (to exercise retries). */
  failNext(n: number): void;
  close(): Promise<void>;
}

/** A real local HTTP server that records webhook posts. */
export async function webhookReceiver(): Promise<Receiver> {
  const { createServer: createHttp } = await import('node:http');
  const bodies: unknown[] = [];
  let failing = 0;
  const server = createHttp((req, res) => {
    let text = '';
    req.on('data', (d) => (text += d));
    req.on('end', () => {
      bodies.push(JSON.parse(text));
      if (failing > 0) {
        failing--;
        res.writeHead(500).end('try later');
      } else {
        res.writeHead(200).end('ok');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    bodies,
    failNext: (n) => (failing = n),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
