// A whole stint server driving the real test Slurm (see cluster.ts) beside a local backend,
// configured with `stint server --config FILE`: routing by `infra:` and by what can ever run
// where, the engine's reasons shown while Slurm holds a job, logs and exact exit codes, and a
// server killed with SIGKILL while Slurm jobs run — after the restart every job's state,
// attempts and exit code match Slurm's own accounting (`sacct -c`, the job completion log).
// Needs the build (npm test builds first).

import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { StintError } from '../../src/core/errors.js';
import { isEnded, serverProcess, sleep, STINT_BIN, tempHome, waitForJob, type ServerProcess } from '../helpers/server.js';
import { ensureCluster, SLURM_CONF, sharedDir } from './cluster.js';

let servers: ServerProcess[] = [];
afterEach(() => {
  for (const s of servers) s.child.kill('SIGKILL');
  servers = [];
});

beforeAll(() => {
  ensureCluster();
}, 180_000);

const tag = Math.random().toString(36).slice(2, 8);

function configFile(home: string): string {
  const path = join(home, 'stint.yaml');
  writeFileSync(path, [
    'backends:',
    '  - {name: desk, type: local, gpus: "A100:2"}',
    '  - name: hpc',
    '    type: slurm',
    `    workdir: ${sharedDir()}`,
    '    partition: debug',
    '    finishedJobs: jobcomp',
    `    slurmConf: ${SLURM_CONF}`,
    '    commandTimeoutSeconds: 60',
    '',
  ].join('\n'));
  return path;
}

async function start(home: string): Promise<ServerProcess> {
  const server = await serverProcess(home, ['--config', join(home, 'stint.yaml')]);
  servers.push(server);
  return server;
}

/** Slurm's own record of finished jobs, by job name: state and exit code ("N:S"). */
function accounting(): Map<string, { state: string; exitCode: string }> {
  const out = execFileSync('sacct', ['-c', '-P', '-n', '--format=jobname,state,exitcode'], { env: { ...process.env, SLURM_CONF } }).toString();
  const records = new Map<string, { state: string; exitCode: string }>();
  for (const line of out.split('\n').filter(Boolean)) {
    const [name, state, exitCode] = line.split('|');
    records.set(name!, { state: state!, exitCode: exitCode! });
  }
  return records;
}

describe('stint server with a Slurm backend from --config', () => {
  it('refuses a bad config at start, naming the field', () => {
    const home = join(sharedDir(), 'bad');
    execFileSync('mkdir', ['-p', home]);
    writeFileSync(join(home, 'stint.yaml'), 'backends:\n  - name: hpc\n    type: slurm\n    workdir: relative/path\n');
    let output = '';
    try {
      execFileSync(process.execPath, [STINT_BIN, 'server', '--home', home, '--port', '0', '--config', join(home, 'stint.yaml')], { stdio: 'pipe' });
    } catch (error) {
      output = String((error as { stderr: Buffer }).stderr);
    }
    expect(output).toContain('backends[0].workdir (line 4:14): got "relative/path"; must be an absolute path');
    expect(output).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('routes by infra and by what can run where, shows Slurm GPUs, logs and exact exit codes', async () => {
    const home = await tempHome();
    configFile(home);
    const { client } = await start(home);
    const gpus = (await client.gpus()).gpus;
    expect(gpus.filter((g) => g.backend === 'desk')).toHaveLength(2);
    const slurmGpus = gpus.filter((g) => g.backend === 'hpc');
    expect(slurmGpus.length).toBeGreaterThanOrEqual(8);
    // Slurm places its jobs: each GPU carries its node's Slurm state and partitions instead of a holder.
    expect(slurmGpus.every((g) => g.engineAllocated && /^(idle|mixed|allocated|drain|down|completing)/.test(g.nodeState ?? '') && g.partitions.length > 0)).toBe(true);
    expect(gpus.filter((g) => g.backend === 'desk').every((g) => !g.engineAllocated && g.nodeState === null)).toBe(true);
    const toSlurm = await client.submit({ task: `name: e2e-${tag}\nresources: {accelerators: A100:1, infra: slurm/hpc}\nrun: echo "hello from $SLURMD_NODENAME rank $SKYPILOT_NODE_RANK"; test -d "$STINT_CHECKPOINT_DIR" && echo "checkpoints in $STINT_CHECKPOINT_DIR"; exit 3\n` });
    // num_nodes: 2 cannot run on the local backend, so without infra it goes to the first that can.
    const twoNodes = await client.submit({ task: `name: pair-${tag}\nnum_nodes: 2\nresources: {accelerators: A100:1}\nrun: echo "rank $SKYPILOT_NODE_RANK of $SKYPILOT_NUM_NODES"\n` });
    const local = await client.submit({ task: 'resources: {accelerators: A100:1}\nrun: echo local\n' });
    expect(await waitForJob(client, toSlurm.id!, isEnded, 90_000)).toMatchObject({ state: 'FAILED', exitCode: 3, backend: 'hpc' });
    const text = (await client.logs(toSlurm.id!)).text;
    expect(text).toMatch(/hello from n\d rank 0/);
    expect(text).toMatch(/checkpoints in \/\S+\/jobs\/\d+\/checkpoints/);
    expect(await waitForJob(client, twoNodes.id!, isEnded, 90_000)).toMatchObject({ state: 'SUCCEEDED', exitCode: 0, backend: 'hpc', resources: '2 nodes × (1 × A100)' });
    expect((await client.logs(twoNodes.id!)).text.split('\n').filter(Boolean).sort()).toEqual(['rank 0 of 2', 'rank 1 of 2']);
    expect(await waitForJob(client, local.id!, isEnded)).toMatchObject({ state: 'SUCCEEDED', backend: 'desk' });
    // infra naming a backend that does not exist is refused at submit, with the field named.
    const refused = await client.submit({ task: 'resources: {infra: slurm/nowhere}\nrun: "true"\n' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(StintError);
    expect((refused as StintError).message).toMatch(/infra/);
  }, 240_000);

  it('shows why Slurm holds a job while it waits there', async () => {
    const home = await tempHome();
    configFile(home);
    const { client } = await start(home);
    // Two whole-partition jobs: the second waits in Slurm for the first (reason Resources/Priority).
    const first = await client.submit({ task: `name: hold-a-${tag}\nnum_nodes: 2\nresources: {accelerators: A100:4, infra: slurm/hpc}\nrun: sleep 6\n` });
    const second = await client.submit({ task: `name: hold-b-${tag}\nnum_nodes: 2\nresources: {accelerators: A100:4, infra: slurm/hpc}\nrun: "true"\n` });
    // Whichever Slurm starts first (other test files share the cluster), the other waits there.
    const deadline = Date.now() + 60_000;
    let reason: string | null = null;
    while (reason === null && Date.now() < deadline) {
      for (const id of [first.id!, second.id!]) {
        const job = await client.getJob(id);
        // Slurm says None (shown as Pending) until its scheduler has looked at the job.
        if (job.state === 'STARTING' && job.waitReason?.includes('waiting in hpc') && !job.waitReason.endsWith(': Pending')) reason = job.waitReason;
      }
      await sleep(100);
    }
    expect(reason).toMatch(/^waiting in hpc \(slurm\): (Resources|Priority|None|ReqNodeNotAvail)/);
    await client.cancel(first.id!);
    expect((await waitForJob(client, first.id!, isEnded, 60_000)).state).toBe('CANCELLED');
    expect((await waitForJob(client, second.id!, isEnded, 90_000)).state).toBe('SUCCEEDED');
  }, 240_000);

  it('holds a job back in stint, before submission, while its user is at their GPU cap', async () => {
    const home = await tempHome();
    configFile(home);
    const { client } = await start(home);
    await client.setUserCaps('root', { maxGpus: 1 });
    const first = await client.submit({ task: `name: cap-a-${tag}\nresources: {accelerators: A100:1, infra: slurm/hpc}\nrun: sleep 4\n` });
    const second = await client.submit({ task: `name: cap-b-${tag}\nresources: {accelerators: A100:1, infra: slurm/hpc}\nrun: "true"\n` });
    const held = await waitForJob(client, second.id!, (j) => j.state === 'PENDING' && j.waitReason !== null, 60_000);
    expect(held.waitReason).toMatch(/user root may hold at most 1 GPUs at once .*; waits in stint before submission/);
    expect((await waitForJob(client, first.id!, isEnded, 90_000)).state).toBe('SUCCEEDED');
    expect((await waitForJob(client, second.id!, isEnded, 90_000)).state).toBe('SUCCEEDED');
  }, 240_000);

  it('loses nothing when killed while Slurm jobs run: states, attempts and exit codes match sacct', async () => {
    const home = await tempHome();
    configFile(home);
    const first = await start(home);
    const codes = [0, 4, 7];
    const ids: number[] = [];
    for (const code of codes) {
      ids.push((await first.client.submit({ task: `name: crash-${code}-${tag}\nresources: {accelerators: A100:1, infra: slurm/hpc}\nrun: sleep 4; exit ${code}\n` })).id!);
    }
    for (const id of ids) await waitForJob(first.client, id, (j) => j.state === 'RUNNING', 90_000);
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    // The jobs end in Slurm while no stint server is up.
    await sleep(6000);
    const second = await start(home);
    const records = accounting();
    for (const [i, id] of ids.entries()) {
      const job = await waitForJob(second.client, id, isEnded, 90_000);
      const record = [...records].find(([name]) => name.endsWith(`-crash-${codes[i]}-${tag}`))?.[1];
      expect(record, `sacct has the record of job ${id}`).toBeDefined();
      expect(job.exitCode).toBe(Number(record!.exitCode.split(':')[0]));
      expect(job.state).toBe(record!.state === 'COMPLETED' ? 'SUCCEEDED' : 'FAILED');
      expect(job.exitCode).toBe(codes[i]);
      const detail = await second.client.getJob(id);
      expect(detail.attempts).toHaveLength(1);
    }
  }, 240_000);
});
