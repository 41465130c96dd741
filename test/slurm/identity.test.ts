// Each user's own identity on the real test Slurm (cluster.ts), through a real root `stint
// server` process: alice and bob (real accounts, made with useradd) are mapped to their Unix
// accounts; each one's job is submitted as that account, so Slurm shows alice in `squeue -o %u`
// while her job runs and in the job completion log (`sacct -c`, jobcomp/filetxt) after, her job's
// files are hers, and her job gets her login environment (HOME, USER, PATH of /etc/login.defs),
// not the server's PATH; her task with `image_id: oci:<bundle>` runs inside that bundle (the test
// Slurm's oci.conf), and bob's `image_id: docker:...` fails naming the form this cluster takes. Then SLURM_CONF: a server whose Slurm backend has no `slurmConf` key
// finds the cluster through the SLURM_CONF of its own environment, as module systems export it.
// Needs root (useradd, setpriv) and the build (dist/).
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StintClient } from '../../src/api/client.js';
import { loginPath } from '../../src/backends/account-env.js';
import { isEnded, serverProcess, sleep, tempHome, waitForJob, type ServerProcess } from '../helpers/server.js';
import { makeBundle } from './bundle.js';
import { ensureCluster, SLURM_CONF, sharedDir } from './cluster.js';

const isRoot = process.getuid?.() === 0;
const tag = Math.random().toString(36).slice(2, 8);

function account(name: string): number {
  try {
    execFileSync('getent', ['passwd', name]);
  } catch {
    execFileSync('useradd', ['--create-home', '--shell', '/bin/bash', name]);
  }
  return Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
}

function slurmOut(command: string, args: string[]): string {
  return execFileSync(command, args, { env: { PATH: process.env.PATH, SLURM_CONF }, encoding: 'utf8' });
}

/** The Slurm job name of attempt 1 of stint job `id` named `name` (ids restart per server; the tag keeps names unique). */
const slurmName = (id: number, name: string) => `stint-${id}.1-${name}`;

/** `squeue -o %u` of the Slurm job named `jobName`, or null. */
function squeueUser(jobName: string): string | null {
  const line = slurmOut('squeue', ['-h', '-o', '%u|%j']).split('\n').find((l) => l.split('|')[1] === jobName);
  return line ? line.split('|')[0]! : null;
}

async function logOf(client: StintClient, id: number, text: string): Promise<string> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const log = (await client.logs(id)).text;
    if (log.includes(text)) return log;
    if (Date.now() > deadline) throw new Error(`job ${id} never logged ${JSON.stringify(text)}; log so far: ${log}`);
    await sleep(200);
  }
}

// Acting as other accounts needs root, as a lab's server runs; without root there is no second identity.
describe.runIf(isRoot)('Slurm: each user submits as their own account, through a real server', { timeout: 240_000 }, () => {
  let server: ServerProcess;
  let workdir: string;
  let alice: StintClient;
  let bob: StintClient;
  let uids: { alice: number; bob: number };

  beforeAll(async () => {
    ensureCluster();
    uids = { alice: account('alice'), bob: account('bob') };
    const home = await tempHome();
    workdir = sharedDir();
    execFileSync('chmod', ['711', workdir]);
    writeFileSync(join(home, 'stint.yaml'), `backends:\n  - name: hpc\n    type: slurm\n    workdir: ${workdir}\n    finishedJobs: jobcomp\n    slurmConf: ${SLURM_CONF}\n    commandTimeoutSeconds: 60\n`);
    server = await serverProcess(home, ['--config', join(home, 'stint.yaml')]);
    const a = await server.client.addUser(`alice-${tag}`);
    await server.client.setUnixUser(`alice-${tag}`, 'alice');
    const b = await server.client.addUser(`bob-${tag}`);
    await server.client.setUnixUser(`bob-${tag}`, 'bob');
    alice = new StintClient(server.url, a.token);
    bob = new StintClient(server.url, b.token);
  }, 180_000);

  afterAll(() => {
    server?.child.kill('SIGKILL');
  });

  it("shows alice's job as alice in squeue and sacct, bob's as bob; the files are theirs; each gets their login environment", async () => {
    const task = (who: string) => [
      `name: ident-${who}-${tag}`,
      'resources: {infra: slurm/hpc}',
      'run: |',
      '  echo "user=$(id -un) home=$HOME login=$USER path=$PATH"',
      '  echo mine > mine.txt; echo started',
      '  while [ ! -e "$STINT_CHECKPOINT_DIR/stop" ]; do sleep 0.5; done',
      '',
    ].join('\n');
    const jobs = { alice: (await alice.submit({ task: task('alice') })).id!, bob: (await bob.submit({ task: task('bob') })).id! };
    const logs: Record<string, string> = {};
    try {
      for (const who of ['alice', 'bob'] as const) {
        logs[who] = await logOf(who === 'alice' ? alice : bob, jobs[who], 'started');
        expect(squeueUser(slurmName(jobs[who], `ident-${who}-${tag}`))).toBe(who);
      }
    } finally {
      for (const id of Object.values(jobs)) writeFileSync(join(workdir, 'jobs', String(id), 'checkpoints', 'stop'), '', { flag: 'w' });
    }
    const path = loginPath(uids.alice, readFileSync('/etc/login.defs', 'utf8'));
    for (const who of ['alice', 'bob'] as const) {
      expect(logs[who]).toContain(`user=${who} home=/home/${who} login=${who} path=${path}\n`);
      expect((await waitForJob(who === 'alice' ? alice : bob, jobs[who], isEnded, 90_000)).state).toBe('SUCCEEDED');
      const jobDir = join(workdir, 'jobs', String(jobs[who]));
      for (const file of ['attempt-1/output.log', 'work/mine.txt', 'checkpoints']) expect(statSync(join(jobDir, file)).uid, file).toBe(uids[who]);
    }
    expect(logs.alice).not.toContain(process.env.PATH!);
    // The job completion log (sacct -c) records the owner: name|user|state.
    const deadline = Date.now() + 30_000;
    let rows: string[] = [];
    while (Date.now() < deadline) {
      rows = slurmOut('sacct', ['-c', '-P', '-n', '--format=jobname,user,state']).split('\n');
      if ((['alice', 'bob'] as const).every((who) => rows.some((r) => r.startsWith(`${slurmName(jobs[who], `ident-${who}-${tag}`)}|`)))) break;
      await sleep(500);
    }
    for (const who of ['alice', 'bob'] as const) {
      expect(rows.find((r) => r.startsWith(`${slurmName(jobs[who], `ident-${who}-${tag}`)}|`))).toMatch(new RegExp(`\\|${who}(\\(${uids[who]}\\))?\\|COMPLETED$`));
    }
  });

  it("runs alice's image_id: oci:<bundle> task inside the bundle; bob's registry image fails with the form to use", async () => {
    const marker = `server-bundle-${tag}`;
    const gid = Number(execFileSync('id', ['-g', 'alice'], { encoding: 'utf8' }).trim());
    const bundle = makeBundle({ uid: uids.alice, gid }, marker);
    const inside = await alice.submit({ task: `name: oci-${tag}\nresources: {infra: slurm/hpc, image_id: "oci:${bundle}"}\nsetup: echo ready > ready\nrun: cat /etc/os-release; cat ready\n` });
    expect(await waitForJob(alice, inside.id!, isEnded, 90_000)).toMatchObject({ state: 'SUCCEEDED', backend: 'hpc' });
    expect((await alice.logs(inside.id!)).text).toBe(`NAME="${marker}"\nready\n`);
    const registry = await bob.submit({ task: `name: reg-${tag}\nresources: {infra: slurm/hpc, image_id: "docker:python:3.11"}\nrun: "true"\n` });
    const failed = await waitForJob(bob, registry.id!, isEnded, 60_000);
    expect(failed.state).toBe('FAILED');
    expect(JSON.stringify(await bob.getJob(registry.id!))).toMatch(/this cluster runs OCI bundles .*give oci:\/shared\/bundles\/<name>/);
  });
});

describe('Slurm: SLURM_CONF from the server’s environment', { timeout: 120_000 }, () => {
  let server: ServerProcess | null = null;
  afterAll(() => {
    server?.child.kill('SIGKILL');
  });

  it('finds the cluster through SLURM_CONF when the backend has no slurmConf key', async () => {
    ensureCluster();
    const home = await tempHome();
    writeFileSync(join(home, 'stint.yaml'), `backends:\n  - name: hpc\n    type: slurm\n    workdir: ${sharedDir()}\n    finishedJobs: jobcomp\n    commandTimeoutSeconds: 60\n`);
    // The server process is spawned with the caller's environment: SLURM_CONF is only there.
    const before = process.env.SLURM_CONF;
    process.env.SLURM_CONF = SLURM_CONF;
    try {
      server = await serverProcess(home, ['--config', join(home, 'stint.yaml')]);
    } finally {
      if (before === undefined) delete process.env.SLURM_CONF;
      else process.env.SLURM_CONF = before;
    }
    const gpus = (await server.client.gpus()).gpus.filter((g) => g.backend === 'hpc');
    expect(gpus.length).toBeGreaterThanOrEqual(8);
    const { id } = await server.client.submit({ task: `name: conf-${tag}\nresources: {infra: slurm/hpc}\nrun: echo "conf=$SLURM_CONF"\n` });
    expect(await waitForJob(server.client, id!, isEnded, 90_000)).toMatchObject({ state: 'SUCCEEDED', backend: 'hpc' });
  });
});
