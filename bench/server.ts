// Benchmark harness: a real `stint server` process on a fresh home, and small statistics helpers.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { StintClient } from '../src/api/client.js';

export const REPO = resolve(import.meta.dirname, '..', '..');

export interface BenchServer {
  child: ChildProcess;
  client: StintClient;
  home: string;
  stop(): Promise<void>;
}

export async function startBenchServer(args: string[], home?: string): Promise<BenchServer> {
  const dir = home ?? (await mkdtemp(join(tmpdir(), 'stint-bench-')));
  // STINT_BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the server under load.
  const nodeArgs = (process.env.STINT_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, join(REPO, 'bin', 'stint'), 'server', '--home', dir, '--port', '0', ...args], { stdio: 'ignore' });
  const deadline = Date.now() + 20_000;
  for (;;) {
    const path = join(dir, 'server.json');
    if (existsSync(path)) {
      const info = JSON.parse(readFileSync(path, 'utf8')) as { url: string; pid: number };
      if (info.pid === child.pid) {
        const client = new StintClient(info.url, readFileSync(join(dir, 'token'), 'utf8').trim());
        return {
          child, client, home: dir,
          stop: () => new Promise((r) => { child.once('exit', () => r()); child.kill('SIGTERM'); }),
        };
      }
    }
    if (Date.now() > deadline) throw new Error('bench server did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return Math.round((kb / 1024) * 10) / 10;
}

export const round = (n: number, digits = 1): number => Math.round(n * 10 ** digits) / 10 ** digits;
