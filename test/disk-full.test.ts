// A full log volume: jobs' directories ($STINT_HOME/jobs) on a real 2 MiB tmpfs, mounted by the
// test (root). A job that fills it is stopped and failed with a reason saying the volume is full;
// the server keeps answering, a job launched onto the full volume fails at launch with ENOSPC
// named, and a job started once space is free again runs normally.

import { execFileSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { observedServer, until, type ObservedServer } from './helpers/observability.js';

// Mounting a filesystem needs root, as in CI (.ci/run) and on the development machine.
const isRoot = process.getuid?.() === 0;
let s: ObservedServer | undefined;
let mounted = '';

beforeAll(async () => {
  if (!isRoot) return;
  s = await observedServer({}, 'A100:2', async (home) => {
    mounted = join(home, 'jobs');
    execFileSync('mkdir', ['-p', mounted]);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m,mode=0711', 'tmpfs', mounted]);
  });
});
afterAll(async () => {
  await s?.server.stop();
  if (mounted) execFileSync('umount', ['-l', mounted]);
});

const ended = (id: number) => until(`job ${id} to end`, async () => {
  const job = await s!.client.getJob(id);
  return ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(job.state) ? job : undefined;
});

describe.skipIf(!isRoot)('full log volume (needs root to mount a tmpfs)', () => {
  it('fails the job that filled it with the reason, and the server carries on', async () => {
    const { id } = await s!.client.submit({ task: 'name: chatty\nretries: {max: 2, on: [node_failure]}\nrun: |\n  head -c 3000000 /dev/zero | tr "\\0" x\n  sleep 60\n' });
    const job = await ended(id!);
    expect(job.state).toBe('FAILED');
    expect(job.reason).toMatch(/^the log volume is full \(\d+ bytes free at .*attempt-1\); the job's output can no longer be written — free space on that volume and resubmit$/);
    expect(job.attempts).toHaveLength(1);
    expect((await fetch(`${s!.server.url}/healthz`)).status).toBe(200);
    const health = await s!.client.health();
    expect(health.events.map((e) => e.kind)).toContain('disk_full');

    const { id: next } = await s!.client.submit({ task: 'run: echo hello\n' });
    const refused = await ended(next!);
    expect(refused.state).toBe('FAILED');
    expect(refused.reason).toMatch(/ENOSPC|no space left/i);

    await rm(join(mounted, String(id)), { recursive: true, force: true });
    const { id: after } = await s!.client.submit({ task: 'run: echo fine again\n' });
    const fine = await ended(after!);
    expect(fine.state).toBe('SUCCEEDED');
    expect((await s!.client.logs(after!)).text).toBe('fine again\n');
  }, 60_000);
});
