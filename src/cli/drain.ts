// `stint admin drain|resume gpu N|node NAME` (admins): take a GPU or a whole node out of placement
// by hand (running jobs finish) and bring it back; `stint admin health`: drains and the latest
// health events. Also `stint admin idle-policy` (set, list, remove the idle-GPU policy of a project).

import type { Command } from 'commander';
import { connect } from '../api/client.js';
import type { HealthReport } from '../api/observability-schemas.js';
import { clientConfig } from '../config.js';
import { parseIdleRule } from '../core/idle.js';
import { StintError } from '../core/errors.js';
import { table, type Style } from './format.js';

interface TargetFlags {
  backend?: string;
  node?: string;
  reason?: string;
}

export function registerDrain(program: Command): void {
  const admin = program.commands.find((c) => c.name() === 'admin') ?? program.command('admin');
  for (const action of ['drain', 'resume'] as const) {
    const cmd = admin.command(action).description(action === 'drain' ? 'stop placing jobs on a GPU or node (running jobs finish; admins)' : 'place jobs on a drained GPU or node again (admins)');
    cmd.command('gpu')
      .argument('<index>', 'GPU index')
      .option('--node <name>', 'the node (default: the backend\'s only node)')
      .option('--backend <name>', 'the backend (default: local)')
      .option('--reason <text>', 'why (shown in `stint gpus` and `stint admin health`)')
      .action(async (index: string, flags: TargetFlags) => {
        const gpu = Number(index);
        if (!Number.isInteger(gpu) || gpu < 0) throw new StintError('INVALID_REQUEST', `"${index}" is not a GPU index`, { field: 'index' });
        await act(action, { ...flags, gpu });
      });
    cmd.command('node')
      .argument('<name>', 'node name')
      .option('--backend <name>', 'the backend (default: local)')
      .option('--reason <text>', 'why')
      .action(async (node: string, flags: TargetFlags) => act(action, { ...flags, node }));
  }
  admin.command('health')
    .description('drained GPUs and nodes, and the latest health events')
    .option('--json', 'print as JSON')
    .action(async (flags: { json?: boolean }) => {
      const config = clientConfig();
      const report = await connect(config).health();
      process.stdout.write((flags.json ? JSON.stringify(report, null, 2) : renderHealth(report, { color: config.color })) + '\n');
    });
  registerIdlePolicy(admin);
}

async function act(action: 'drain' | 'resume', target: TargetFlags & { gpu?: number }): Promise<void> {
  const result = await connect(clientConfig()).drain(action, target);
  const what = target.gpu === undefined ? `node ${target.node}` : `GPU ${target.gpu}${target.node ? ` on ${target.node}` : ''}`;
  const text = action === 'drain'
    ? result.changed ? `${what} drained: no new jobs will be placed on it; running jobs finish` : `${what} was already drained (${result.drain?.reason ?? ''})`
    : result.changed ? `${what} resumed: jobs may be placed on it again` : `${what} was not drained`;
  process.stdout.write(text + '\n');
}

export function renderHealth(report: HealthReport, style: Style): string {
  const drains = report.drains.length === 0 ? 'no GPU or node is drained' : table(['BACKEND', 'NODE', 'GPU', 'SINCE', 'BY', 'REASON'], report.drains.map((d) => [d.backend, d.node, d.gpu === null ? 'all' : String(d.gpu), d.at, d.source, d.reason]), style);
  const events = report.events.length === 0 ? 'no health events' : table(['WHEN', 'NODE', 'GPU', 'EVENT', 'DETAIL'], report.events.slice(0, 20).map((e) => [e.at, e.node, e.gpu === null ? '-' : String(e.gpu), e.kind, e.detail]), style);
  return `${drains}\n\n${events}`;
}

function registerIdlePolicy(admin: Command): void {
  const idle = admin.command('idle-policy').description('idle-GPU policies: warn, then stop, jobs whose GPUs stay idle (admins)');
  idle.command('set')
    .argument('<project>', "a project, or '*' for every project without its own")
    .argument('<rule>', 'threshold=5,warn=30m,stop=2h,applies=interactive (stop=never: warn only; applies=all: batch jobs too)')
    .action(async (project: string, text: string) => {
      const rule = parseIdleRule(text, project);
      if (typeof rule === 'string') throw new StintError('INVALID_REQUEST', `idle policy: ${rule}`, { field: 'rule' });
      const { project: _p, ...policy } = rule;
      const saved = await connect(clientConfig()).setIdlePolicy(project, policy);
      process.stdout.write(`idle-GPU policy of ${saved.project}: below ${saved.thresholdPercent}% warn after ${saved.warnAfterSeconds} s, ${saved.stopAfterSeconds === null ? 'never stop' : `stop after ${saved.stopAfterSeconds} s`} (${saved.appliesTo} jobs)\n`);
    });
  idle.command('list').description('every stored policy and the server default').action(async () => {
    const config = clientConfig();
    const { policies, serverDefault } = await connect(config).idlePolicies();
    const rows = [...policies, ...(serverDefault ? [{ ...serverDefault, project: '(server default)' }] : [])];
    process.stdout.write(table(['PROJECT', 'BELOW', 'WARN AFTER', 'STOP AFTER', 'JOBS'], rows.map((p) => [p.project, `${p.thresholdPercent}%`, `${p.warnAfterSeconds} s`, p.stopAfterSeconds === null ? 'never' : `${p.stopAfterSeconds} s`, p.appliesTo]), { color: config.color }) + '\n');
  });
  idle.command('remove').argument('<project>').action(async (project: string) => {
    await connect(clientConfig()).removeIdlePolicy(project);
    process.stdout.write(`idle-GPU policy of ${project} removed\n`);
  });
}
