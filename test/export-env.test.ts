// The submitter's environment in jobs, as a user meets it: `bin/stint launch --export-env` run as a
// real process against a real `bin/stint server` process (needs `npm run build`). A job sees the
// caller's variables under the task's envs and never STINT_TOKEN; the exported values are stored
// sealed, survive a server restart and a retry, and never reach the job's view, server.log or the
// database file in clear; `--secret NAME` / `--env NAME` take the caller's values; a raw API call
// with a bad name or an oversize value is answered 400 naming the field. A mapped user's job gets
// that account's HOME and login PATH.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StintClient } from '../src/api/client.js';
import { loginPath } from '../src/backends/account-env.js';
import { isEnded, REPO, serverProcess, STINT_BIN, tempHome, waitForJob, type ServerProcess } from './helpers/server.js';

const isRoot = process.getuid?.() === 0;
/** The Unix account a mapped user's job runs as (created with useradd when missing). */
const ACCOUNT = 'stintexportenv';
const SERVER_ARGS = ['--gpus', 'A100:1', '--kill-grace', '1'];
/** Stands for a conda environment's bin directory at the front of the caller's PATH. */
const CONDA_BIN = '/opt/stint-test-conda/envs/demo/bin';

let home: string;
let server: ServerProcess;
let token: string;

beforeAll(async () => {
  home = await tempHome();
  server = await serverProcess(home, SERVER_ARGS);
  token = readFileSync(join(home, 'token'), 'utf8').trim();
});
afterAll(() => {
  server?.child.kill('SIGTERM');
});

/** bin/stint as a user's shell runs it: only the variables given, plus PATH, HOME and STINT_HOME. */
function stint(args: string[], env: Record<string, string> = {}, cwd = REPO) {
  const result = spawnSync(process.execPath, [STINT_BIN, ...args], {
    cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, STINT_HOME: home, ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

async function taskFile(text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'stint-export-'));
  const path = join(dir, 'task.yaml');
  await writeFile(path, text);
  return path;
}

async function launchDetached(client: StintClient, args: string[], env: Record<string, string>): Promise<number> {
  const launched = stint(['launch', '--detach', ...args], env);
  expect(launched, launched.stderr).toMatchObject({ code: 0 });
  return Number(launched.stdout.trim());
}

async function finishedLog(client: StintClient, id: number): Promise<string> {
  const ended = await waitForJob(client, id, isEnded, 30_000);
  const text = (await client.logs(id)).text;
  expect(ended, `${ended.reason}: ${text}`).toMatchObject({ state: 'SUCCEEDED' });
  return text;
}

/** The server's own files (database, its WAL, server.log), as bytes: where a value kept in clear would show. */
function serverFiles(): string {
  return readdirSync(home, { withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => readFileSync(join(home, entry.name)).toString('latin1'))
    .join('\n');
}

const PRINT = 'echo "v=$MY_SUBMIT_VAR o=$OVERRIDDEN t=${STINT_TOKEN-unset} u=${STINT_URL-unset} h=${STINT_HOME-unset}"; echo "path=$PATH"';

describe('stint launch --export-env', () => {
  it("carries the caller's variables under the task's envs, never STINT_*; shows only the count", async () => {
    const callerPath = `${CONDA_BIN}:${process.env.PATH}`;
    const caller = { MY_SUBMIT_VAR: 'from-the-caller-7f3a', OVERRIDDEN: 'from-the-shell', STINT_TOKEN: token, STINT_URL: server.url, PATH: callerPath };
    const file = await taskFile(`envs: {OVERRIDDEN: from-the-task}\nrun: |\n  ${PRINT}\n`);
    const id = await launchDetached(server.client, [file, '--export-env'], caller);
    const log = await finishedLog(server.client, id);
    expect(log).toBe(`v=from-the-caller-7f3a o=from-the-task t=unset u=unset h=unset\npath=${callerPath}\n`);
    // --env overrides the task's value in turn.
    const again = await launchDetached(server.client, [file, '--export-env', '--env', 'OVERRIDDEN=from-the-flag'], caller);
    expect(await finishedLog(server.client, again)).toMatch(/^v=from-the-caller-7f3a o=from-the-flag /);

    const shown = stint(['job', String(id)], caller);
    expect(shown.stdout).toMatch(/Exported env\s+\d+ variables of the submitter's environment \(values not shown\)/);
    const detail = JSON.stringify(await server.client.getJob(id));
    expect(detail).toMatch(/"exportedEnvCount":\d+/);
    expect(detail).not.toContain('from-the-caller-7f3a');
    expect(serverFiles()).not.toContain('from-the-caller-7f3a');
  });

  it('follows export_env: true in the task without the flag; a raw submission of such a task must carry exportedEnv', async () => {
    const file = await taskFile(`export_env: true\nrun: |\n  ${PRINT}\n`);
    const id = await launchDetached(server.client, [file], { MY_SUBMIT_VAR: 'via-the-task-key', STINT_TOKEN: token });
    expect(await finishedLog(server.client, id)).toMatch(/^v=via-the-task-key o= t=unset /);
    await expect(server.client.submit({ task: 'export_env: true\nrun: env\n' })).rejects.toMatchObject({ code: 'INVALID_REQUEST', details: { field: 'exportedEnv' } });
    const bad = stint(['launch', await taskFile('export_env: maybe\nrun: env\n')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/export_env.*must be true or false/);
  });

  it('keeps the environment across a server restart (queued while it was stopped) and a retry', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stint-export-gate-'));
    const blocker = await server.client.submit({ task: `resources: {accelerators: A100:1}\nrun: while [ ! -f ${dir}/go ]; do sleep 0.2; done\n` });
    await waitForJob(server.client, blocker.id!, (job) => job.state === 'RUNNING');
    const file = await taskFile(`resources: {accelerators: A100:1}\nretries: {max: 1, on: [failure], backoff: 1s}\nrun: |\n  echo "attempt=$STINT_ATTEMPT v=$MY_SUBMIT_VAR"\n  [ "$STINT_ATTEMPT" = 2 ] || exit 3\n`);
    const id = await launchDetached(server.client, [file, '--export-env'], { MY_SUBMIT_VAR: 'kept-over-restart' });
    expect((await server.client.getJob(id)).state).toBe('PENDING');

    const stopped = new Promise((resolve) => server.child.once('exit', resolve));
    server.child.kill('SIGTERM');
    await stopped;
    server = await serverProcess(home, SERVER_ARGS);
    await writeFile(join(dir, 'go'), '');
    const ended = await waitForJob(server.client, id, isEnded, 40_000);
    const logs = await Promise.all([1, 2].map(async (attempt) => (await server.client.logs(id, { attempt })).text));
    expect(ended, `${ended.reason}: ${logs.join(' | ')}`).toMatchObject({ state: 'SUCCEEDED', attempt: 2 });
    expect(logs).toEqual(['attempt=1 v=kept-over-restart\n', 'attempt=2 v=kept-over-restart\n']);
  });
});

describe('--env NAME and --secret NAME take the value from the caller', () => {
  it('passes the values, masks the secret in the log, and names an unset variable', async () => {
    const file = await taskFile('envs: {LR: null}\nsecrets: {HF_TOKEN: null}\nrun: echo "lr=$LR token=$HF_TOKEN"\n');
    const id = await launchDetached(server.client, [file, '--env', 'LR', '--secret', 'HF_TOKEN'], { LR: '0.25', HF_TOKEN: 'hf_caller_secret_value_91' });
    const log = await finishedLog(server.client, id);
    expect(log).toBe('lr=0.25 token=<secret>\n');
    expect(JSON.stringify(await server.client.getJob(id))).not.toContain('hf_caller_secret_value_91');

    const unset = stint(['launch', file, '--env', 'LR=1', '--secret', 'HF_TOKEN']);
    expect(unset.code).toBe(2);
    expect(unset.stderr).toBe('stint: --secret HF_TOKEN: HF_TOKEN is not set in your environment; pass --secret HF_TOKEN=VALUE or export it\n');
    const badName = stint(['launch', file, '--env', '1LR']);
    expect(badName.code).toBe(2);
    expect(badName.stderr).toMatch(/--env: "1LR" is not a valid variable name/);
  });
});

describe('the server checks exportedEnv itself', () => {
  async function post(exportedEnv: Record<string, string>) {
    const response = await fetch(`${server.url}/api/v1/jobs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ task: 'run: env\n', exportedEnv }),
    });
    return { status: response.status, body: (await response.json()) as { code: string; message: string; details: Record<string, unknown> } };
  }

  it.each([
    ['BASH_FUNC_x%%', '() { :; }'],
    ['STINT_TOKEN', 'stolen'],
    ['STINT_RUN_AS_UID', '0'],
    ['HOME', '/root'],
    ['SLURM_JOB_ID', '12'],
    ['LONG', 'x'.repeat(65_537)],
  ])('refuses %s with 400 and the field', async (name, value) => {
    const before = (await server.client.listJobs({ all: true })).jobs.length;
    const { status, body } = await post({ OK: '1', [name]: value });
    expect(status).toBe(400);
    expect(body).toMatchObject({ code: 'INVALID_REQUEST', details: { field: `exportedEnv.${name}` } });
    expect(body.message).not.toContain(value.slice(0, 100));
    expect((await server.client.listJobs({ all: true })).jobs.length).toBe(before);
  });

  it('refuses more than a submission may carry, naming the largest', async () => {
    const big = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`V${i}`, 'y'.repeat(65_000)]));
    const { status, body } = await post(big);
    expect(status).toBe(400);
    expect(body).toMatchObject({ code: 'INVALID_REQUEST', details: { field: 'exportedEnv' } });
    expect(body.message).toMatch(/the largest: V\d+ \(65000 characters\)/);
  });
});

// Switching to a mapped account needs a root server, as a lab runs it; a non-root run has no
// second account to switch to.
describe.runIf(isRoot)("a mapped user's job runs in that account's login environment", () => {
  let client: StintClient;
  let passwd: string[];
  beforeAll(async () => {
    if (spawnSync('getent', ['passwd', ACCOUNT]).status !== 0) execFileSync('useradd', ['--create-home', '--shell', '/bin/bash', ACCOUNT]);
    passwd = execFileSync('getent', ['passwd', ACCOUNT], { encoding: 'utf8' }).trim().split(':');
    const added = await server.client.addUser('hana');
    await server.client.setUnixUser('hana', ACCOUNT);
    client = new StintClient(server.url, added.token);
  });

  it('sees HOME, USER and SHELL of the account and the PATH of /etc/login.defs', async () => {
    const defs = existsSync('/etc/login.defs') ? readFileSync('/etc/login.defs', 'utf8') : '';
    const { id } = await client.submit({ task: 'run: echo "$(id -un) home=$HOME user=$USER shell=$SHELL path=$PATH"\n' });
    const log = await finishedLog(client, id!);
    expect(log).toBe(`${ACCOUNT} home=${passwd[5]} user=${ACCOUNT} shell=${passwd[6]} path=${loginPath(Number(passwd[2]), defs)}\n`);
  });

  it("puts an exported PATH (conda's) over the login PATH, and keeps the account's HOME", async () => {
    const path = `${CONDA_BIN}:/usr/bin:/bin`;
    const { id } = await client.submit({ task: 'run: echo "home=$HOME path=$PATH v=$MY_SUBMIT_VAR"\n', exportedEnv: { PATH: path, MY_SUBMIT_VAR: 'mapped' } });
    expect(await finishedLog(client, id!)).toBe(`home=${passwd[5]} path=${path} v=mapped\n`);
  });
});
