// Users, roles and rules through the real API: a real server in this process, one client per user
// with that user's own token. Single-user mode (the home token is the admin's) is the start.
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StintClient } from '../src/api/client.js';
import { serverConfig } from '../src/config.js';
import { hashToken } from '../src/server/auth.js';
import { startServer } from '../src/server/start.js';
import { inProcessServer, isEnded, tempHome, waitForJob, type InProcessServer } from './helpers/server.js';

let s: InProcessServer;
let root: StintClient;
const as = (token: string) => new StintClient(s.server.url, token);

beforeAll(async () => {
  s = await inProcessServer({ gpus: 'A100:4', killGrace: '1' });
  root = s.client;
});
afterAll(async () => {
  await s.server.stop();
});

async function refusal(call: Promise<unknown>): Promise<{ code: string; message: string; details: Record<string, unknown> }> {
  const error = await call.then(() => null, (e: unknown) => e);
  if (!error) throw new Error('expected the call to be refused');
  return error as { code: string; message: string; details: Record<string, unknown> };
}

async function addUser(name: string, role: 'admin' | 'member' | 'viewer' = 'member'): Promise<StintClient> {
  const { token } = await root.addUser(name, role);
  return as(token);
}

const run = (text: string, extra = '') => ({ task: `${extra}resources: {accelerators: A100:1}\nrun: ${text}\n` });

describe('single-user mode', () => {
  it("makes the server's user the admin, with the token in $STINT_HOME/token", async () => {
    const me = await root.me();
    expect(me).toMatchObject({ role: 'admin', projects: [] });
    expect((await root.listUsers()).users.map((u) => [u.name, u.role])).toEqual([[me.name, 'admin']]);
    const { id } = await root.submit(run('exit 0'));
    expect((await root.getJob(id!)).owner).toBe(me.name);
  });

  it('keeps tokens only as SHA-256 hashes in the database', async () => {
    const { token } = await root.createToken({ label: 'scan' });
    const db = readdirSync(s.home).filter((f) => f.startsWith('stint.db')).map((f) => readFileSync(join(s.home, f)).toString('latin1')).join('');
    for (const plain of [token, s.token]) {
      expect(db).not.toContain(plain);
      expect(db).toContain(hashToken(plain));
    }
  });
});

describe('restarts', () => {
  it('a lost $STINT_HOME/token is replaced by restarting the server; users and tokens stay', async () => {
    const home = await tempHome();
    const config = serverConfig({ home, port: '0', gpus: 'A100:1' });
    const first = await startServer(config);
    const oldHome = readFileSync(join(home, 'token'), 'utf8').trim();
    const { token: ann } = await new StintClient(first.url, oldHome).addUser('ann');
    await first.stop();
    rmSync(join(home, 'token'));
    const second = await startServer(config);
    const newHome = readFileSync(join(home, 'token'), 'utf8').trim();
    expect(newHome).not.toBe(oldHome);
    expect((await new StintClient(second.url, newHome).me()).role).toBe('admin');
    expect((await new StintClient(second.url, ann).me()).name).toBe('ann');
    await second.stop();
  });
});

describe('members, viewers and the rules', () => {
  it('a member submits, sees the whole queue, owns its jobs, and reads only its own logs', async () => {
    const ann = await addUser('ann');
    expect(await ann.me()).toMatchObject({ name: 'ann', role: 'member' });
    const mine = (await ann.submit(run('echo from-ann'))).id!;
    const rootJob = (await root.submit(run('echo from-root'))).id!;
    await waitForJob(root, mine, isEnded);
    await waitForJob(root, rootJob, isEnded);
    const queue = (await ann.listJobs({ all: true })).jobs;
    expect(queue.find((j) => j.id === rootJob)).toMatchObject({ owner: (await root.me()).name, resources: '1 × A100', state: 'SUCCEEDED' });
    expect(queue.find((j) => j.id === mine)?.owner).toBe('ann');
    expect((await ann.logs(mine)).text).toBe('from-ann\n');
    expect((await root.logs(mine)).text).toBe('from-ann\n');

    const refused = await refusal(ann.logs(rootJob));
    expect(refused).toMatchObject({ code: 'FORBIDDEN', details: { rule: 'logs.owner-or-project-admin', job: rootJob } });
    expect(refused.message).toMatch(/ann may not read the logs of job \d+.*rule logs\.owner-or-project-admin/);
    const raw = await fetch(`${s.server.url}/api/v1/jobs/${rootJob}/logs`, { headers: { authorization: `Bearer ${(await root.createToken({ user: 'ann' })).token}` } });
    expect(raw.status).toBe(403);
  });

  it("another user's job detail comes without spec and events; the owner's with them", async () => {
    const cat = await addUser('cat');
    const { id } = await root.submit(run('echo private-run-line', 'envs: {PRIVATE_ENV: value-42}\n'));
    const seen = await cat.getJob(id!);
    expect(seen).toMatchObject({ id, state: expect.any(String), resources: '1 × A100', events: [] });
    expect(seen.spec).toEqual({ redacted: true, rule: 'job.details.owner-or-project-admin', message: expect.stringContaining('rule job.details.owner-or-project-admin') });
    expect(JSON.stringify(seen)).not.toMatch(/private-run-line|value-42/);
    const full = await root.getJob(id!);
    expect(full.spec).toMatchObject({ run: 'echo private-run-line', envs: { PRIVATE_ENV: 'value-42' } });
    expect(full.events.length).toBeGreaterThan(0);
  });

  it('a viewer reads the queue and GPUs but cannot submit, upload, cancel or read logs', async () => {
    const eve = await addUser('eve', 'viewer');
    const { id } = await root.submit(run('exit 0'));
    expect((await eve.listJobs({ all: true })).jobs.some((j) => j.id === id)).toBe(true);
    expect((await eve.gpus()).gpus).toHaveLength(4);
    expect(await refusal(eve.submit(run('exit 0')))).toMatchObject({ code: 'FORBIDDEN', details: { rule: 'submit.member-or-admin' } });
    expect(await refusal(eve.upload(Buffer.from([0x1f, 0x8b, 0])))).toMatchObject({ code: 'FORBIDDEN', details: { rule: 'submit.member-or-admin' } });
    expect(await refusal(eve.cancel(id!))).toMatchObject({ code: 'FORBIDDEN', details: { rule: 'cancel.owner-or-project-admin' } });
    expect(await refusal(eve.logs(id!))).toMatchObject({ code: 'FORBIDDEN', details: { rule: 'logs.owner-or-project-admin' } });
    expect(await refusal(eve.listUsers())).toMatchObject({ code: 'FORBIDDEN', details: { rule: 'admin.admin-only' } });
    const response = await fetch(`${s.server.url}/api/v1/jobs`, { method: 'POST', headers: { authorization: `Bearer ${(await root.createToken({ user: 'eve' })).token}`, 'content-type': 'application/json' }, body: JSON.stringify(run('exit 0')) });
    expect(response.status).toBe(403);
  });

  it("a project admin reads and cancels the project's jobs, and the cancel is audited", async () => {
    const dan = await addUser('dan');
    const pia = await addUser('pia');
    const out = await addUser('out');
    await root.addProject('vision');
    await root.setProjectMember('vision', 'pia', 'admin');
    await pia.setProjectMember('vision', 'dan');
    const { id } = await dan.submit(run('echo dan-says-hi; sleep 60', 'project: vision\n'));
    await waitForJob(root, id!, (j) => j.state === 'RUNNING');
    expect(await refusal(out.cancel(id!))).toMatchObject({ code: 'FORBIDDEN', details: { rule: 'cancel.owner-or-project-admin', project: 'vision' } });
    expect(await refusal(out.setProjectMember('vision', 'out'))).toMatchObject({ details: { rule: 'projects.members.admin-or-project-admin' } });
    expect((await pia.getJob(id!)).spec).toMatchObject({ project: 'vision' });
    expect((await pia.cancel(id!)).message).toMatch(/stopping/);
    expect(await waitForJob(root, id!, isEnded)).toMatchObject({ state: 'CANCELLED' });
    const [entry] = (await root.audit()).entries.filter((e) => e.action === 'job.cancel');
    expect(entry).toMatchObject({ actor: 'pia', target: `job/${id}`, details: { owner: 'dan', project: 'vision', as: 'project-admin' } });
    expect((await root.listProjects()).projects.find((p) => p.name === 'vision')?.members).toEqual([{ user: 'dan', role: 'member' }, { user: 'pia', role: 'admin' }]);
  });
});

describe('tokens', () => {
  it('a revoked token is refused at once (401), and so is every token of a removed user', async () => {
    const { token: first } = await root.addUser('fay');
    const fay = as(first);
    const { token: second, tokenInfo } = await fay.createToken({ label: 'laptop' });
    const laptop = as(second);
    expect((await laptop.me()).name).toBe('fay');
    expect((await fay.listTokens()).tokens.map((t) => t.label)).toEqual(['created with the user', 'laptop']);
    await fay.revokeToken(tokenInfo.id);
    expect(await refusal(laptop.me())).toMatchObject({ code: 'UNAUTHORIZED' });
    expect((await fay.me()).name).toBe('fay');
    await root.removeUser('fay');
    expect(await refusal(fay.me())).toMatchObject({ code: 'UNAUTHORIZED' });
  });

  it("a member manages only its own tokens; the last admin stays", async () => {
    const gus = await addUser('gus');
    const hal = await addUser('hal');
    const halToken = (await hal.listTokens()).tokens[0]!;
    expect(await refusal(gus.revokeToken(halToken.id))).toMatchObject({ code: 'FORBIDDEN', details: { rule: 'tokens.self-or-admin' } });
    expect(await refusal(gus.createToken({ user: 'hal' }))).toMatchObject({ details: { rule: 'tokens.self-or-admin' } });
    expect(await refusal(gus.listTokens({ user: 'hal' }))).toMatchObject({ details: { rule: 'tokens.self-or-admin' } });
    expect(await refusal(root.removeUser((await root.me()).name))).toMatchObject({ code: 'CONFLICT', message: expect.stringMatching(/last admin/) });
    expect(await refusal(root.addUser('gus'))).toMatchObject({ code: 'CONFLICT' });
    expect(await refusal(root.addUser('-bad name'))).toMatchObject({ code: 'INVALID_REQUEST' });
  });
});

describe('the audit log and the API document', () => {
  it('records admin actions with their actor, never a token', async () => {
    const { token, tokenInfo } = await root.addUser('ivy');
    await as(token).createToken({ label: 'ci' });
    await root.revokeToken(tokenInfo.id);
    await root.addProject('audio');
    await root.setProjectMember('audio', 'ivy', 'admin');
    await root.removeProjectMember('audio', 'ivy');
    await root.removeUser('ivy');
    const me = (await root.me()).name;
    const entries = (await root.audit()).entries.filter((e) => JSON.stringify(e).includes('ivy') || e.target === 'project/audio');
    expect(entries.map((e) => [e.actor, e.action, e.target]).reverse()).toEqual([
      [me, 'user.add', 'user/ivy'],
      ['ivy', 'token.create', expect.stringMatching(/^token\/\d+$/)],
      [me, 'token.revoke', `token/${tokenInfo.id}`],
      [me, 'project.add', 'project/audio'],
      [me, 'project.member.set', 'project/audio'],
      [me, 'project.member.remove', 'project/audio'],
      [me, 'user.remove', 'user/ivy'],
    ]);
    expect(JSON.stringify(entries)).not.toContain(token);
    const ann = as((await root.createToken({ user: 'ann' })).token);
    expect(await refusal(ann.audit())).toMatchObject({ code: 'FORBIDDEN', details: { rule: 'admin.admin-only' } });
  });

  it('documents the admin and token routes', async () => {
    const doc = (await (await fetch(s.server.url + '/api/openapi.json')).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining([
      '/api/v1/me', '/api/v1/tokens', '/api/v1/tokens/{id}/revoke', '/api/v1/admin/users', '/api/v1/admin/users/{name}',
      '/api/v1/admin/projects', '/api/v1/admin/projects/{name}/members/{user}', '/api/v1/admin/audit',
    ]));
  });
});
