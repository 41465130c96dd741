// `stint gpus`: every GPU stint can schedule, and the job holding each; and, per node, whether the
// limits of its jobs are enforced (never silent when they are not).

import type { Command } from 'commander';
import { connect } from '../api/client.js';
import type { BackendIdentityView, GpuView, NodeConfinementView } from '../api/schemas.js';
import { clientConfig } from '../config.js';
import { paint, table, type Style } from './format.js';
import type { DrainView } from '../api/observability-schemas.js';

function health(drain: DrainView | undefined): string {
  if (!drain) return 'unhealthy';
  return `${drain.source === 'health' ? 'failed' : 'drained'}: ${drain.reason}`;
}

export function registerGpus(program: Command): void {
  program
    .command('gpus')
    .description('list GPUs with their holders')
    .option('--json', 'print the GPUs as a JSON array')
    .action(async (flags: { json?: boolean }) => {
      const config = clientConfig();
      const client = connect(config);
      const { gpus, confinement, identities } = await client.gpus();
      // Why a GPU is unhealthy (drained by hand or by a failed health check), where the server says.
      const drains = (await client.health().catch(() => null))?.drains ?? [];
      if (flags.json) {
        process.stdout.write(JSON.stringify(gpus, null, 2) + '\n');
        return;
      }
      process.stdout.write(renderGpus(gpus, { color: config.color }, drains) + '\n');
      const lines = [renderConfinement(confinement, { color: config.color }), renderIdentities(identities, { color: config.color })].filter((l) => l !== '');
      if (lines.length > 0) process.stdout.write(lines.join('\n') + '\n');
    });
}

/** stint's holder; on an engine that places work (Slurm), the node's state stands in for it. */
function holder(g: GpuView, style: Style): string {
  if (g.jobId !== null) return `${g.jobId}${g.jobName ? ` (${g.jobName})` : ''}`;
  if (g.engineAllocated) return `${g.nodeState ?? '?'} node${g.partitions.length > 0 ? ` [${g.partitions.join(',')}]` : ''} (Slurm places)`;
  return paint(style, 'green', 'free');
}

export function renderGpus(gpus: readonly GpuView[], style: Style, drains: readonly DrainView[] = []): string {
  const drainOf = (g: GpuView) => drains.find((d) => d.backend === g.backend && d.node === g.node && (d.gpu === g.index || d.gpu === null));
  if (gpus.length === 0) return 'no GPUs found (start the server with --gpus A100:4 to declare fake ones)';
  const rows = gpus.map((g) => [
    g.backend,
    g.node,
    String(g.index),
    g.name,
    g.memoryMb > 0 ? `${Math.round(g.memoryMb / 1024)} GB` : '-', // Slurm's gres carries no memory
    g.healthy && !drainOf(g) ? 'ok' : paint(style, 'red', health(drainOf(g))),
    holder(g, style),
    g.owner ?? '-',
  ]);
  return table(['BACKEND', 'NODE', 'GPU', 'NAME', 'MEMORY', 'HEALTH', 'JOB', 'USER'], rows, style);
}

/** One line per node: how its jobs are confined, or "limits not enforced on this host: <reason>". */
export function renderConfinement(nodes: readonly NodeConfinementView[], style: Style): string {
  return nodes.map((n) => {
    if (!n.enforced) return paint(style, 'red', `${n.backend}/${n.node}: limits not enforced on this host: ${n.reason ?? 'unknown reason'}`);
    const parts = [`own cgroup (${n.cgroup ?? '?'}): memory, CPUs, pids, GPU devices`, n.privateTmp ? 'private /tmp' : 'own TMPDIR'];
    return [`${n.backend}/${n.node}: jobs confined: ${parts.join('; ')}`, ...(n.notes ?? []).map((note) => `  note: ${note}`)].join('\n');
  }).join('\n');
}

/** One line per backend whose jobs share one Unix account: the files of one user's jobs are readable by the others'. */
export function renderIdentities(identities: readonly BackendIdentityView[], style: Style): string {
  return identities
    .filter((i) => !i.perUser)
    .map((i) => paint(style, 'yellow', `${i.backend}: every job runs as one shared account: ${i.why ?? 'unknown reason'}`))
    .join('\n');
}
