// Owns finding the GPUs of the machine the local backend runs on: `--gpus` (fake) wins; otherwise
// nvidia-smi, then rocm-smi, then (macOS) system_profiler + sysctl; otherwise none. Also reports the
// host's CPUs and memory.
// Invariants: a tool that is missing, fails, times out (10 s) or lists no GPU just passes the turn
// to the next source; a tool that answers with output we cannot read at all is an error (a broken
// driver should be seen, not silently become "no GPUs"); the commands run are passed in as a port
// (`run`), so tests serve captured outputs without touching the machine.

import { execFile } from 'node:child_process';
import os from 'node:os';
import type { Gpu } from '../../../core/inventory.js';
import { parseAppleGpus, SYSCTL_MEMSIZE_ARGS, SYSTEM_PROFILER_ARGS } from './apple.js';
import { parseFakeGpus } from './fake.js';
import { readFileSync } from 'node:fs';
import { withDevicePaths } from './device-paths.js';
import { NVIDIA_SMI_QUERY_ARGS, nvidiaRowToGpu, parseNvidiaSmiRows } from './nvidia.js';
import { parseRocmSmiJson, ROCM_SMI_ARGS } from './rocm.js';

export type GpuSource = 'fake' | 'nvidia' | 'rocm' | 'apple' | 'none';

/** Runs a command; resolves its stdout, or null when it is missing, fails or times out. */
export type CommandRunner = (cmd: string, args: string[]) => Promise<string | null>;

export interface DiscoverGpusOptions {
  /** The `--gpus` value; when given, no tool is run. */
  fake?: string;
  run?: CommandRunner;
  /** Defaults to process.platform; the Apple probe runs only on 'darwin'. */
  platform?: NodeJS.Platform;
  /** `--fake-gpu-devices DIR`: fake GPU N's device node is DIR/nvidiaN. */
  fakeDevices?: string;
  /** Reads driver files (/proc/driver/nvidia/...); tests pass captured ones. */
  read?: (path: string) => string | null;
}

export interface DiscoveredGpus {
  gpus: Gpu[];
  source: GpuSource;
}

export const TOOL_TIMEOUT_MS = 10_000;

/** The default runner: execFile with a 10 s timeout, no shell, null on any failure. */
export const runCommand: CommandRunner = (cmd, args) =>
  new Promise((resolve) => {
    execFile(cmd, args, { timeout: TOOL_TIMEOUT_MS, maxBuffer: 16 * 2 ** 20, windowsHide: true }, (error, stdout) => {
      resolve(error ? null : String(stdout));
    });
  });

async function probeNvidia(run: CommandRunner, read: (path: string) => string | null): Promise<Gpu[]> {
  const output = await run('nvidia-smi', [...NVIDIA_SMI_QUERY_ARGS]);
  if (output === null) return [];
  const rows = parseNvidiaSmiRows(output);
  const busIds = new Map(rows.flatMap((r) => (r.pciBusId === undefined ? [] : [[r.index, r.pciBusId] as const])));
  return withDevicePaths(rows.map(nvidiaRowToGpu).sort((a, b) => a.index - b.index), 'nvidia', { busIds, read });
}

function readDriverFile(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

async function probeRocm(run: CommandRunner): Promise<Gpu[]> {
  const output = await run('rocm-smi', [...ROCM_SMI_ARGS]);
  return output === null || output.trim() === '' ? [] : parseRocmSmiJson(output);
}

async function probeApple(run: CommandRunner): Promise<Gpu[]> {
  const profile = await run('system_profiler', [...SYSTEM_PROFILER_ARGS]);
  if (profile === null) return [];
  const memsize = await run('sysctl', [...SYSCTL_MEMSIZE_ARGS]);
  return memsize === null ? [] : parseAppleGpus(profile, memsize);
}

/**
 * The GPUs of this machine and where they were found. `fake` (the `--gpus` flag) wins and runs
 * nothing; then the first of nvidia-smi, rocm-smi and (on macOS) system_profiler that lists at least
 * one GPU; else `{ gpus: [], source: 'none' }`.
 */
export async function discoverGpus(opts: DiscoverGpusOptions = {}): Promise<DiscoveredGpus> {
  if (opts.fake !== undefined) return { gpus: withDevicePaths(parseFakeGpus(opts.fake), 'fake', { fakeDir: opts.fakeDevices }), source: 'fake' };
  const run = opts.run ?? runCommand;
  const read = opts.read ?? readDriverFile;
  const probes: [GpuSource, (run: CommandRunner) => Promise<Gpu[]>][] = [
    ['nvidia', (r) => probeNvidia(r, read)],
    ['rocm', async (r) => withDevicePaths(await probeRocm(r), 'rocm', {})],
  ];
  if ((opts.platform ?? process.platform) === 'darwin') probes.push(['apple', probeApple]);
  for (const [source, probe] of probes) {
    const gpus = await probe(run);
    if (gpus.length > 0) return { gpus, source };
  }
  return { gpus: [], source: 'none' };
}

export interface HostResources {
  cpus: number;
  /** Total RAM in GiB, rounded down to one decimal. */
  memoryGb: number;
}

/** The CPUs (os.availableParallelism) and total memory of this machine. */
export function detectHostResources(): HostResources {
  const cpus = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return { cpus, memoryGb: Math.floor((os.totalmem() / 2 ** 30) * 10) / 10 };
}
