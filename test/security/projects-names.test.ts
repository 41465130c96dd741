// Attacks on projects and user names against a real `bin/stint server` process (review M2, #19,
// #26, M9, #23): a member may submit only to projects it belongs to (admins to any), an unknown
// project is refused with a did-you-mean, and a removed user's name can be reused without the new
// user inheriting anything of the old one (logs, jobs, caps, webhook, memberships, Unix mapping).
// Needs the build (dist/), like every test that starts bin/stint.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StintClient } from '../../src/api/client.js';
import { isEnded, serverProcess, sleep, tempHome, waitForJob, type ServerProcess } from '../helpers/server.js';

let server: ServerProcess;
let admin: StintClient;
const as = (token: string) => new StintClient(server.url, token);

beforeAll(async () => {
  server = await serverProcess(await tempHome(), ['--gpus', 'A100:2', '--kill-grace', '1', '--webhook-allow', 'hooks.example.org']);
  admin = server.client;
  for (const project of ['vision', 'nlp']) await admin.addProject(project);
}, 60_000);
afterAll(() => {
  server?.child.kill('SIGKILL');
});

async function refusal(call: Promise<unknown>): Promise<{ code: string; message: string; details: Record<string, unknown> }> {
  const error = await call.then(() => null, (e: unknown) => e);
  if (!error) throw new Error('expected the call to be refused');
  return error as { code: string; message: string; details: Record<string, unknown> };
}

async function member(name: string, projects: string[] = []): Promise<StintClient> {
  const { token } = await admin.addUser(name, 'member');
  for (const project of projects) await admin.setProjectMember(project, name, 'member');
  return as(token);
}

const job = (project: string | null, run = 'sleep 30') => ({ task: `${project === null ? '' : `project: ${project}\n`}resources: {accelerators: A100:1}\nrun: ${run}\n` });

describe('M2: project is checked against membership', () => {
  it("refuses a non-member's project: vision, naming the field, the value, the rule and the caller's projects", async () => {
    const bob = await member('bob', ['nlp']);
    const refused = await refusal(bob.submit(job('vision')));
    expect(refused).toMatchObject({ code: 'FORBIDDEN', details: { field: 'project', value: 'vision', rule: 'submit.project-member', accepted: ['nlp'] } });
    expect(refused.message).toMatch(/bob is not a member of project vision/);
    // A dry run reports the same refusal.
    expect(await refusal(bob.submit({ ...job('vision'), dryRun: true }))).toMatchObject({ code: 'FORBIDDEN', details: { field: 'project', value: 'vision' } });
  });

  it('refuses an unknown project with a did-you-mean, for members and admins alike', async () => {
    const dora = await member('dora', ['vision']);
    const refused = await refusal(dora.submit(job('visoin')));
    expect(refused).toMatchObject({ code: 'INVALID_SPEC', details: { field: 'project', value: 'visoin', suggestions: ['vision'] } });
    expect(refused.message).toMatch(/did you mean vision\?/);
    expect(await refusal(admin.submit(job('visoin')))).toMatchObject({ code: 'INVALID_SPEC', details: { field: 'project', suggestions: ['vision'] } });
    // A misspelled key is refused by the task-file parser, never taken as no project.
    expect(await refusal(dora.submit({ task: 'projct: vision\nrun: "true"\n' }))).toMatchObject({ code: 'INVALID_SPEC' });
    // A huge value is compared with no name (project names are at most 64 characters) and shown cut.
    const huge = await refusal(dora.submit({ task: `project: ${'v'.repeat(100_000)}\nrun: "true"\n` }));
    expect(huge).toMatchObject({ code: 'INVALID_SPEC', details: { field: 'project', suggestions: [] } });
    expect(String(huge.details.value)).toHaveLength(80);
  });

  it('lets an admin submit to any project, and everyone submit with no project', async () => {
    const { id } = await admin.submit(job('vision', '"true"'));
    expect((await admin.getJob(id!)).project).toBe('vision');
    const erin = await member('erin');
    const plain = await erin.submit(job(null, '"true"'));
    expect((await waitForJob(erin, plain.id!, isEnded)).state).toBe('SUCCEEDED');
  });

  it('keeps a member of nlp capped at 0 GPUs from escaping the cap by writing another project', async () => {
    const carl = await member('carl', ['nlp']);
    await admin.setProjectQuota('nlp', { guaranteed: {}, maxGpus: 0 });
    const capped = await carl.submit(job('nlp'));
    await sleep(500);
    expect((await carl.getJob(capped.id!)).state).toBe('PENDING');
    expect(await refusal(carl.submit(job('vision')))).toMatchObject({ code: 'FORBIDDEN', details: { field: 'project', value: 'vision' } });
    await carl.cancel(capped.id!);
  });
});

describe('M9: a reused user name inherits nothing', () => {
  it("gives a new tmpu none of the old tmpu's logs, jobs, caps, webhook, memberships or Unix account", async () => {
    const old = await member('tmpu', ['vision']);
    const { id } = await old.submit(job('vision', 'echo old-tmpu-private-output'));
    expect((await waitForJob(old, id!, isEnded)).state).toBe('SUCCEEDED');
    await admin.setUserCaps('tmpu', { maxGpus: 0 });
    const pending = await old.submit(job(null, 'sleep 60'));
    await admin.setUnixUser('tmpu', 'nobody');
    await old.setWebhook('https://hooks.example.org/tmpu');
    expect((await old.webhook()).webhook).not.toBeNull();
    await admin.removeUser('tmpu');

    const fresh = await member('tmpu');
    expect(await refusal(fresh.logs(id!))).toMatchObject({ code: 'FORBIDDEN' });
    expect(await refusal(fresh.cancel(pending.id!))).toMatchObject({ code: 'FORBIDDEN' });
    expect((await fresh.getJob(id!)).spec).toMatchObject({ redacted: true });
    expect(await fresh.me()).toMatchObject({ name: 'tmpu', projects: [] });
    expect((await fresh.webhook()).webhook).toBeNull();
    // The old cap (0 GPUs) would hold this job for ever.
    const own = await fresh.submit(job(null, '"true"'));
    expect((await waitForJob(fresh, own.id!, isEnded)).state).toBe('SUCCEEDED');
    const listed = (await admin.listUsers()).users.find((u) => u.name === 'tmpu');
    expect(listed).toMatchObject({ unixUser: null });
    // The old user's job still names its owner, and the old user still shows as removed.
    expect((await admin.getJob(id!)).owner).toBe('tmpu');
    expect((await admin.listUsers({ all: true })).users.filter((u) => u.name === 'tmpu')).toHaveLength(2);
    await admin.cancel(pending.id!);
  });

  it("runs a removed user's waiting job as that user's Unix account, not as the next user of the name", async () => {
    const old = await member('reuse');
    await admin.setUnixUser('reuse', 'nobody');
    const blocker = await admin.submit({ task: 'resources: {accelerators: A100:2}\nrun: sleep 60\n' });
    await waitForJob(admin, blocker.id!, (j) => j.state === 'RUNNING');
    const { id } = await old.submit(job(null, 'id -un'));
    await admin.removeUser('reuse');
    await member('reuse');
    await admin.setUnixUser('reuse', 'www-data');
    await admin.cancel(blocker.id!);
    const ended = await waitForJob(admin, id!, isEnded);
    expect(ended.state, ended.reason ?? '').toBe('SUCCEEDED');
    expect((await admin.logs(id!)).text).toBe('nobody\n');
  });
});
