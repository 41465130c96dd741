// The real Slurm the Slurm tests run against: 3 slurmd nodes with 4 fake gpu:a100 each (n1, n2 in the default partition; n3 alone in "second", for tests that take a node down), munged and
// slurmctld, started by the project's own scripts/slurm/start-local-slurm.sh (idempotent: when the
// cluster is already up it only checks it). Test files run in parallel, so the start is serialised
// with flock. Finished jobs are read with `sacct -c` (jobcomp/filetxt), as no slurmdbd runs here.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createSlurmBackend, type SlurmBackend } from '../../src/backends/slurm/backend.js';
import type { SlurmConfigInput } from '../../src/backends/slurm/config.js';

export const CLUSTER_DIR = process.env.STINT_SLURM_DIR ?? '/tmp/stint-slurm';
export const SLURM_CONF = join(CLUSTER_DIR, 'slurm.conf');
const SCRIPTS = resolve(import.meta.dirname, '../../scripts/slurm');

/** Starts the test cluster if it is not running; returns the seconds it took. */
export function ensureCluster(): number {
  const started = Date.now();
  execFileSync('flock', ['-o', `${CLUSTER_DIR}.lock`, join(SCRIPTS, 'start-local-slurm.sh'), '--dir', CLUSTER_DIR, '--nodes', '3', '--gpu-type', 'a100', '--timeout', '90'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return (Date.now() - started) / 1000;
}

/** How the cluster enforces --mem: `cgroup` (jobs end OUT_OF_MEMORY) or `poll` (they end FAILED). */
export function memoryEnforcement(): string {
  return execFileSync('bash', ['-c', `. ${join(CLUSTER_DIR, 'env.sh')}; echo "$SLURM_LOCAL_MEM_ENFORCE"`]).toString().trim();
}

/** Runs a Slurm command against the test cluster (scontrol, sinfo) and returns its output. */
export function slurm(command: string, args: string[]): string {
  return execFileSync(command, args, { env: { ...process.env, SLURM_CONF } }).toString();
}

export function sharedDir(): string {
  const base = join(CLUSTER_DIR, 'shared');
  mkdirSync(base, { recursive: true });
  return mkdtempSync(join(base, 'stint-'));
}

export async function testBackend(overrides: Partial<SlurmConfigInput> = {}): Promise<SlurmBackend> {
  return createSlurmBackend({ name: 'hpc', workdir: sharedDir(), finishedJobs: 'jobcomp', slurmConf: SLURM_CONF, commandTimeoutSeconds: 60, ...overrides });
}
