// Test servers: a real stint server in this process (startServer on a free port with a temporary
// home), or as a separate `bin/stint server` process that a test may kill -9. No mocks.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { StintClient } from '../../src/api/client.js';
import { serverConfig } from '../../src/config.js';
import type { JobView } from '../../src/api/schemas.js';
import { startServer, type RunningServer } from '../../src/server/start.js';

export const REPO = resolve(import.meta.dirname, '..', '..');
export const STINT_BIN = join(REPO, 'bin', 'stint');

export async function tempHome(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'stint-test-'));
}

export interface InProcessServer {
  server: RunningServer;
  client: StintClient;
  home: string;
  token: string;
}

/**
 * Tests run as root here and in CI; unless a test is about run-as (test/run-as.test.ts), the
 * users it creates run their jobs as root, as `--allow-root-jobs` allows.
 */
export async function inProcessServer(flags: { gpus?: string; killGrace?: string; preemptGrace?: string; preemptMinRuntime?: string; allowRootJobs?: boolean } = {}): Promise<InProcessServer> {
  const home = await tempHome();
  const server = await startServer(serverConfig({ allowRootJobs: true, ...flags, home, port: '0', gpus: flags.gpus ?? 'A100:4', killGrace: flags.killGrace ?? '2' }));
  const token = readFileSync(join(home, 'token'), 'utf8').trim();
  return { server, client: new StintClient(server.url, token), home, token };
}

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  client: StintClient;
}

/** Starts `bin/stint server` as its own process (needs `npm run build`). */
export async function serverProcess(home: string, args: string[] = []): Promise<ServerProcess> {
  const jsonPath = join(home, 'server.json');
  const before = existsSync(jsonPath) ? readFileSync(jsonPath, 'utf8') : '';
  const child = spawn(process.execPath, [STINT_BIN, 'server', '--home', home, '--port', '0', '--allow-root-jobs', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (existsSync(jsonPath)) {
      const text = readFileSync(jsonPath, 'utf8');
      const parsed = text && text !== before ? (JSON.parse(text) as { url: string; pid: number }) : null;
      if (parsed && parsed.pid === child.pid) {
        const token = readFileSync(join(home, 'token'), 'utf8').trim();
        return { child, url: parsed.url, client: new StintClient(parsed.url, token) };
      }
    }
    if (child.exitCode !== null) throw new Error(`stint server exited early: ${output}`);
    if (Date.now() > deadline) throw new Error(`stint server did not start: ${output}`);
    await sleep(50);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls until the job satisfies `done`, returning the last view. */
export async function waitForJob(client: StintClient, id: number, done: (job: JobView) => boolean, timeoutMs = 20_000): Promise<JobView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await client.getJob(id);
    if (done(job)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} stuck in ${job.state} (${job.reason})`);
    await sleep(50);
  }
}

export const isEnded = (job: JobView): boolean => ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(job.state);
