// `stint admin ...` as users run it: bin/stint against a real server process. The admin is the
// server's user (single-user mode, token from $STINT_HOME/token); others pass STINT_TOKEN.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, STINT_BIN, serverProcess, sleep, tempHome, type ServerProcess } from './helpers/server.js';

let home: string;
let server: ServerProcess;

beforeAll(async () => {
  home = await tempHome();
  server = await serverProcess(home, ['--gpus', 'A100:2', '--kill-grace', '1']);
});
afterAll(() => {
  server.child.kill('SIGTERM');
});

/** Runs bin/stint as the admin (the home token) or, with `token`, as that token's user. */
function stint(args: string[], token?: string) {
  const env: Record<string, string | undefined> = { PATH: process.env.PATH, HOME: process.env.HOME, STINT_HOME: home };
  if (token) env.STINT_TOKEN = token;
  const result = spawnSync(process.execPath, [STINT_BIN, ...args], { cwd: REPO, env, encoding: 'utf8', timeout: 30_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function json(args: string[], token?: string): any {
  const result = stint([...args, '--json'], token);
  if (result.code !== 0) throw new Error(`stint ${args.join(' ')}: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

describe('stint admin', () => {
  it('adds users and prints each token once; a member submits and sees the queue; a viewer cannot submit', async () => {
    const added = json(['admin', 'user', 'add', 'ann']);
    expect(Object.keys(added).sort()).toEqual(['token', 'user']);
    expect(added.user).toMatchObject({ name: 'ann', role: 'member' });
    const ann = added.token as string;
    const viewer = stint(['admin', 'user', 'add', 'eve', '--viewer']);
    expect(viewer.code).toBe(0);
    const eve = viewer.stdout.match(/^ {2}(\S+)$/m)![1]!;
    expect(viewer.stdout).toMatch(/added eve \(viewer\)/);
    expect(stint(['admin', 'user', 'add', 'x', '--admin', '--viewer']).stderr).toMatch(/exclude/);

    expect(stint(['admin', 'whoami'], ann).stdout).toMatch(/^ann \(member\)/);
    const id = Number(stint(['launch', 'examples/hello.yaml', '--detach'], ann).stdout);
    expect(id).toBeGreaterThan(0);
    const queue = json(['queue', '--all'], eve);
    expect(queue.find((j: { id: number }) => j.id === id)).toMatchObject({ owner: 'ann' });

    const refused = stint(['launch', 'examples/hello.yaml', '--detach'], eve);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/viewer.*rule submit\.member-or-admin/);

    const users = json(['admin', 'user', 'list']);
    expect(users.map((u: { name: string; role: string }) => [u.name, u.role])).toEqual(expect.arrayContaining([['ann', 'member'], ['eve', 'viewer']]));
    expect(stint(['admin', 'user', 'list']).stdout).toMatch(/^eve\s+viewer/m);
    expect(JSON.stringify(users)).not.toContain(ann);
  });

  it("a member gets 403 on another user's logs, with the rule named", async () => {
    const ann = json(['admin', 'token', 'create', '--user', 'ann', '--label', 'test']).token as string;
    const id = Number(stint(['launch', 'examples/hello.yaml', '--detach']).stdout);
    for (let i = 0; i < 100 && !['SUCCEEDED', 'FAILED'].includes(json(['job', String(id)]).state); i++) await sleep(100);
    const logs = stint(['logs', String(id)], ann);
    expect(logs.code).toBe(1);
    expect(logs.stderr).toMatch(new RegExp(`ann may not read the logs of job ${id}.*rule logs\\.owner-or-project-admin`));
    expect(stint(['logs', String(id)]).stdout).toMatch(/hello/);
    const admin = stint(['admin', 'user', 'list'], ann);
    expect(admin.code).toBe(1);
    expect(admin.stderr).toMatch(/rule admin\.admin-only/);
  });

  it('creates, lists and revokes tokens; a revoked token is refused at once', () => {
    const created = json(['admin', 'token', 'create', '--user', 'ann', '--label', 'ci']);
    expect(created.tokenInfo).toMatchObject({ user: 'ann', label: 'ci', revokedAt: null });
    expect(stint(['queue'], created.token).code).toBe(0);
    const listed = json(['admin', 'token', 'list', '--user', 'ann']);
    expect(listed.map((t: { label: string }) => t.label)).toContain('ci');
    expect(JSON.stringify(listed)).not.toContain(created.token);
    expect(stint(['admin', 'token', 'list'], created.token).stdout).toMatch(/ci\s+.*active/);
    expect(stint(['admin', 'token', 'revoke', String(created.tokenInfo.id)]).stdout).toMatch(`revoked token ${created.tokenInfo.id} of ann`);
    const after = stint(['queue'], created.token);
    expect(after.code).toBe(1);
    expect(after.stderr).toMatch(/not valid.*revoked/);
  });

  it('adds projects and members, lists them, and removes a user with its tokens', () => {
    expect(stint(['admin', 'project', 'add', 'vision']).stdout).toBe('added project vision\n');
    expect(stint(['admin', 'project', 'member', 'add', 'vision', 'ann', '--admin']).stdout).toMatch(/ann is now an admin of project vision/);
    expect(stint(['admin', 'project', 'member', 'add', 'vision', 'eve']).code).toBe(0);
    expect(json(['admin', 'project', 'list'])).toEqual([{ name: 'vision', createdAt: expect.any(String), members: [{ user: 'ann', role: 'admin' }, { user: 'eve', role: 'member' }] }]);
    expect(stint(['admin', 'project', 'member', 'remove', 'vision', 'eve']).code).toBe(0);
    expect(stint(['admin', 'project', 'list']).stdout).toMatch(/^vision\s+ann \(admin\)$/m);
    expect(stint(['admin', 'project', 'member', 'add', 'nope', 'ann']).stderr).toMatch(/project nope does not exist/);

    const ann = json(['admin', 'token', 'create', '--user', 'ann']).token as string;
    expect(stint(['admin', 'user', 'remove', 'ann']).stdout).toMatch(/removed ann; revoked \d+ tokens/);
    expect(stint(['queue'], ann).code).toBe(1);
  });

  it('shows admin actions in the audit log', () => {
    const actions = json(['admin', 'audit']).map((e: { action: string }) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['user.add', 'token.create', 'token.revoke', 'project.add', 'project.member.set', 'project.member.remove', 'user.remove']));
    expect(stint(['admin', 'audit', '--limit', '2']).stdout.trim().split('\n')).toHaveLength(3);
  });
});
