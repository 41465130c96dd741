// The CLI as a user runs it: bin/stint against a real server process, in a terminal-less shell.
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, STINT_BIN, serverProcess, tempHome, type ServerProcess } from './helpers/server.js';

let home: string;
let server: ServerProcess;

beforeAll(async () => {
  home = await tempHome();
  server = await serverProcess(home, ['--gpus', 'A100:4', '--kill-grace', '1']);
  // `project:` must name an existing project (a misspelled one is refused with a did-you-mean).
  await server.client.addProject('vision');
});
afterAll(() => {
  server.child.kill('SIGTERM');
});

function stint(args: string[], options: { cwd?: string } = {}) {
  const result = spawnSync(process.execPath, [STINT_BIN, ...args], {
    cwd: options.cwd ?? REPO,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, STINT_HOME: home },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

async function taskFile(text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'stint-cli-'));
  const path = join(dir, 'task.yaml');
  await writeFile(path, text);
  return path;
}

describe('stint launch', () => {
  it('streams the output and exits with the job exit code', async () => {
    const ok = stint(['launch', 'examples/hello.yaml']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/hello from job \d+/);
    const failing = stint(['launch', await taskFile('run: echo about to fail; exit 42\n')]);
    expect(failing.stdout).toBe('about to fail\n');
    expect(failing.code).toBe(42);
    expect(failing.stderr).toMatch(/FAILED/);
  });

  it('--detach prints the id, --json prints {"id"}', async () => {
    const detached = stint(['launch', 'examples/hello.yaml', '--detach']);
    expect(detached.stdout.trim()).toMatch(/^\d+$/);
    const json = stint(['launch', 'examples/hello.yaml', '--json']);
    expect(JSON.parse(json.stdout)).toEqual({ id: expect.any(Number) });
  });

  it('snapshots the workdir honouring .gitignore and passes --env', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stint-wd-'));
    await writeFile(join(dir, '.gitignore'), 'data/\n*.ckpt\n');
    await mkdir(join(dir, 'data'));
    await writeFile(join(dir, 'data', 'big.bin'), 'x');
    await writeFile(join(dir, 'model.ckpt'), 'x');
    await writeFile(join(dir, 'train.py'), 'print(1)\n');
    await writeFile(join(dir, 'task.yaml'), 'workdir: .\nenvs: {LR: null}\nrun: ls -A; echo "lr=$LR"\n');
    const result = stint(['launch', 'task.yaml', '--env', 'LR=0.1'], { cwd: dir });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('.gitignore\ntask.yaml\ntrain.py\nlr=0.1\n');
  });

  it('--dry-run prints the normalised spec and the verdict without submitting', async () => {
    const before = JSON.parse(stint(['queue', '--all', '--json']).stdout).length;
    const good = stint(['launch', 'examples/train.yaml', '--dry-run']);
    expect(good.code).toBe(0);
    expect(good.stdout).toMatch(/A100/);
    expect(good.stderr).toMatch(/would be accepted/);
    const refused = stint(['launch', await taskFile('num_nodes: 4\nrun: hostname\n'), '--dry-run']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/num_nodes/);
    expect(JSON.parse(stint(['queue', '--all', '--json']).stdout).length).toBe(before);
  });
});

describe('bad task files', () => {
  const cases: Array<[string, RegExp]> = [
    ['unknown-gpu.yaml', /accelerators/],
    ['bad-yaml.yaml', /line \d+/],
    ['wrong-type.yaml', /line \d+/],
    ['negative-count.yaml', /line \d+/],
    ['unknown-key.yaml', /line \d+/],
  ];
  for (const [file, pattern] of cases) {
    it(`${file}: a clear error naming the field and line, exit code 2`, () => {
      const result = stint(['launch', join('test/fixtures/specs', file)]);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(pattern);
      expect(result.stderr).not.toMatch(/    at /); // no stack trace
    });
  }

  it('a missing file', () => {
    const result = stint(['launch', 'no/such/task.yaml']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/no such file/);
  });
});

describe('stint queue, job, logs, cancel, gpus', () => {
  it('show a running job, its GPUs and its logs, and cancel it', async () => {
    const id = Number(stint(['launch', await taskFile('name: sleeper\nresources: {accelerators: A100:1}\nrun: echo hi; sleep 60\n'), '--detach']).stdout);
    let job = JSON.parse(stint(['job', String(id), '--json']).stdout);
    for (let i = 0; i < 100 && job.state !== 'RUNNING'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      job = JSON.parse(stint(['job', String(id), '--json']).stdout);
    }
    expect(job).toMatchObject({ id, name: 'sleeper', state: 'RUNNING', exitCode: null, gpus: [expect.any(Number)], endedAt: null });
    expect(Date.parse(job.submittedAt)).not.toBeNaN();
    const queue = stint(['queue']);
    expect(queue.stdout).toMatch(new RegExp(`^${id}\\s+sleeper\\s+\\S+\\s+RUNNING`, 'm'));
    expect(stint(['status', '--json']).stdout).toContain('"sleeper"');
    const gpus = JSON.parse(stint(['gpus', '--json']).stdout);
    expect(gpus.filter((g: { jobId: number | null }) => g.jobId === id)).toHaveLength(1);
    expect(stint(['gpus']).stdout).toMatch(/sleeper/);
    expect(stint(['logs', String(id)]).stdout).toBe('hi\n');
    expect(stint(['cancel', String(id)]).stdout).toMatch(/stopping/);
    const follow = stint(['logs', String(id), '--follow']);
    expect(follow.code).toBe(0);
    expect(JSON.parse(stint(['job', String(id), '--json']).stdout).state).toBe('CANCELLED');
    expect(stint(['job', String(id)]).stdout).toMatch(/cancelled/);
  });

  it("never sends a job name's escape sequences to the reader's terminal (OSC 52 clipboard, OSC 0 title, clear screen)", async () => {
    const name = '"x\\e]52;c;ZXZpbA==\\ay\\e]0;pwned\\az\\e[2J"';
    const { id } = await server.client.submit({ task: `name: ${name}\nrun: "true"\n` });
    expect((await server.client.getJob(id!)).name).toContain('\u001b]52;');
    await new Promise((r) => setTimeout(r, 300));
    for (const args of [['queue', '--all'], ['job', String(id)]]) {
      const out = stint(args).stdout;
      expect(out, args.join(' ')).toContain('x^[]52;c;ZXZpbA==?y^[]0;pwned?z^[[2J');
      expect(out, args.join(' ')).not.toMatch(/\u001b[\]P_^X]|\u001b\[2J|\u0007/);
    }
  });

  it('stint usage reports GPU-hours, jobs and waits per user and per project', async () => {
    const id = Number(stint(['launch', await taskFile('project: vision\nresources: {accelerators: A100:2}\nrun: sleep 0.5\n'), '--detach']).stdout);
    stint(['logs', String(id), '--follow']);
    const byUser = JSON.parse(stint(['usage', '--json']).stdout);
    expect(byUser.by).toBe('user');
    expect(byUser.rows[0]).toMatchObject({ name: expect.any(String), jobs: expect.any(Number), avgWaitSeconds: expect.any(Number) });
    expect(byUser.rows[0].gpuHours).toBeGreaterThan(0);
    const byProject = JSON.parse(stint(['usage', '--by', 'project', '--since', '1h', '--json']).stdout);
    expect(byProject.rows.find((r: { name: string }) => r.name === 'vision')).toMatchObject({ jobs: 1, attempts: 1 });
    expect(stint(['usage']).stdout).toMatch(/GPU-HOURS/);
    const bad = stint(['usage', '--since', 'yesterday']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/since: "yesterday" is not a duration/);
  });

  it('names a job that does not exist', () => {
    const result = stint(['job', '99999']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/job 99999 does not exist/);
    expect(stint(['cancel', 'abc']).stderr).toMatch(/not a job id/);
  });

  it('says where it looked for a token when the server refuses it', async () => {
    const elsewhere = await tempHome();
    const result = spawnSync(process.execPath, [STINT_BIN, 'queue'], { env: { PATH: process.env.PATH, STINT_HOME: elsewhere, STINT_URL: server.url }, encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/token/);
    expect(result.stderr).toContain(join(elsewhere, 'token'));
    expect(result.stderr).toMatch(/STINT_TOKEN/);
  });

  it('stint server refuses a port in use and a bad flag with the flag named', async () => {
    const port = new URL(server.url).port;
    const taken = spawnSync(process.execPath, [STINT_BIN, 'server', '--home', await tempHome(), '--port', port], { encoding: 'utf8', timeout: 20_000 });
    expect(taken.status).toBe(1);
    expect(taken.stderr).toMatch(new RegExp(`${port} is already in use.*--port`));
    const bad = spawnSync(process.execPath, [STINT_BIN, 'server', '--home', await tempHome(), '--gpus', 'A100:x'], { encoding: 'utf8', timeout: 20_000 });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--gpus "A100:x"/);
  });

  it('says how to start a server when none answers', () => {
    const result = spawnSync(process.execPath, [STINT_BIN, 'queue'], { env: { PATH: process.env.PATH, STINT_URL: 'http://127.0.0.1:9' }, encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/stint server/);
  });
});
