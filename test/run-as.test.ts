// Jobs run as their owner's Unix account when the server runs as root: a mapped user's job runs
// as that account (uid, groups, HOME) and can write its job directory; an unmapped user is
// refused rather than run as root; the server's own user (the single-user admin) still runs.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StintClient } from '../src/api/client.js';
import { inProcessServer, isEnded, waitForJob, type InProcessServer } from './helpers/server.js';

const ACCOUNT = 'stintrunas';
/** A second account: two stint users may not share one (rule identity.one-account). */
const ACCOUNT_2 = 'stintrunas2';
const isRoot = process.getuid?.() === 0;

// Switching accounts needs root (as a lab's server runs); a non-root run has nothing to test.
describe.runIf(isRoot)('run as the user (server running as root)', () => {
  let s: InProcessServer;
  beforeAll(async () => {
    for (const account of [ACCOUNT, ACCOUNT_2]) {
      try {
        execFileSync('getent', ['passwd', account]);
      } catch {
        execFileSync('useradd', ['--create-home', '--shell', '/bin/bash', account]);
      }
    }
    s = await inProcessServer({ gpus: 'A100:2', allowRootJobs: false });
  });
  afterAll(async () => {
    await s?.server.stop();
  });

  it("runs a mapped user's job as the Unix account, with its HOME, in a job directory it can write", async () => {
    const { token } = await s.client.addUser('erin');
    await s.client.setUnixUser('erin', ACCOUNT);
    const erin = new StintClient(s.server.url, token);
    const { id } = await erin.submit({ task: 'run: id -un; echo "home=$HOME"; touch "$STINT_CHECKPOINT_DIR/ok" && echo wrote; touch /root/nope 2>/dev/null || echo "no root"\n' });
    const ended = await waitForJob(erin, id!, isEnded);
    expect(ended, `${ended.reason}: ${(await erin.logs(id!)).text}`).toMatchObject({ state: 'SUCCEEDED' });
    const home = execFileSync('getent', ['passwd', ACCOUNT], { encoding: 'utf8' }).split(':')[5];
    expect((await erin.logs(id!)).text).toBe(`${ACCOUNT}\nhome=${home}\nwrote\nno root\n`);
  });

  it('refuses an unmapped user instead of running the job as root, naming the rule', async () => {
    const { token } = await s.client.addUser('frank');
    const frank = new StintClient(s.server.url, token);
    await expect(frank.submit({ task: 'run: id -un\n' })).rejects.toMatchObject({ code: 'FORBIDDEN', message: expect.stringMatching(/run-as.mapped-account.*stint admin user map frank/) });
    await expect(s.client.setUnixUser('frank', 'no-such-account-here')).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
  });

  it("cannot override stint's variables, gets its envs and secrets, and records 128+N when cancelled (review row 49)", async () => {
    const { token } = await s.client.addUser('gail');
    await s.client.setUnixUser('gail', ACCOUNT_2);
    const gail = new StintClient(s.server.url, token);
    const envs = '{STINT_RUN_AS_UID: "0", STINT_RUN_AS_GID: "0", STINT_WORKDIR: /root, STINT_ATTEMPT_DIR: /tmp, STINT_JOB_DIR: /tmp, MY_ENV: "it\'s $(here)"}';
    const task = `envs: ${envs}\nsecrets: {MY_KEY: k-1}\nsetup: echo setup-first\nrun: |\n  id -u; pwd; echo "$STINT_ATTEMPT_DIR $STINT_JOB_DIR"; echo "$MY_ENV $MY_KEY"\n  trap 'echo bye' EXIT; sleep 60\n`;
    const { id } = await gail.submit({ task });
    const uid = execFileSync('id', ['-u', ACCOUNT_2], { encoding: 'utf8' }).trim();
    const deadline = Date.now() + 20_000;
    while (!(await gail.logs(id!)).text.includes('k-1') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await gail.cancel(id!);
    const ended = await waitForJob(gail, id!, isEnded);
    const [setup, user, cwd, dirs, values, bye] = (await gail.logs(id!)).text.split('\n');
    expect([setup, user, values, bye]).toEqual(['setup-first', uid, "it's $(here) k-1", 'bye']);
    expect(cwd).toMatch(new RegExp(`/jobs/${id}/work$`));
    expect(dirs).toMatch(new RegExp(`/jobs/${id}/attempt-1 .*/jobs/${id}$`));
    expect(ended).toMatchObject({ state: 'CANCELLED', exitCode: 143, signal: 'SIGTERM' });
  });

  it("still runs the server's own user's jobs as that user", async () => {
    const { id } = await s.client.submit({ task: 'run: id -un\n' });
    await waitForJob(s.client, id!, isEnded);
    expect((await s.client.logs(id!)).text).toBe('root\n');
  });
});
