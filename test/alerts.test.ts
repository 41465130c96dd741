// Webhook alerts against a real local HTTP receiver: a job's end goes to its owner's webhook
// (generic JSON or Slack-compatible), a drain goes to the admins' webhook; a receiver answering 500
// gets the alert again (retried with backoff); a dead receiver never holds up scheduling.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, observedServer, until, webhookReceiver, type ObservedServer, type Receiver } from './helpers/observability.js';

let s: ObservedServer;
let owner: Receiver;
let admins: Receiver;

beforeAll(async () => {
  owner = await webhookReceiver();
  admins = await webhookReceiver();
  s = await observedServer({ adminWebhook: `slack:${admins.url}` }, 'A100:2');
});
afterAll(async () => {
  await s?.server.stop();
  await owner?.close();
  await admins?.close();
});

describe('webhook alerts', () => {
  it('posts a job\'s end to its owner as JSON, retrying after a 500', async () => {
    await s.client.setWebhook(owner.url);
    owner.failNext(1);
    const { id } = await s.client.submit({ task: 'name: hello\nrun: exit 3\n' });
    const alert = await until('the alert to be delivered twice (one 500, one 200)', async () => (owner.bodies.length >= 2 ? owner.bodies : undefined));
    expect(alert[0]).toEqual(alert[1]);
    expect(alert[1]).toMatchObject({
      source: 'stint', server: s.server.url, kind: 'job_failed', severity: 'warning', title: `job ${id} (hello) failed`, text: 'exit code 3',
      job: { id, name: 'hello', state: 'FAILED', exitCode: 3 },
    });
  }, 30_000);

  it('posts a drain to the admins in Slack\'s format', async () => {
    await s.client.drain('drain', { gpu: 1, reason: 'replacing the fan' });
    const [body] = await until('the admin alert', async () => (admins.bodies.length >= 1 ? admins.bodies : undefined));
    expect(body).toMatchObject({ text: expect.stringContaining('GPU 1 on') });
    expect((body as { text: string }).text).toContain('replacing the fan');
    expect((body as { blocks: unknown[] }).blocks).toHaveLength(2);
    await s.client.drain('resume', { gpu: 1 });
  }, 30_000);

  it('keeps scheduling while the owner\'s webhook points at nothing', async () => {
    await s.client.setWebhook(`http://127.0.0.1:${await freePort()}/gone`, 'slack');
    expect(await s.client.webhook()).toEqual({ webhook: { url: expect.stringContaining('/gone'), format: 'slack' } });
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) ids.push((await s.client.submit({ task: 'run: exit 0\n' })).id!);
    for (const id of ids) await until(`job ${id} to succeed`, async () => ((await s.client.getJob(id)).state === 'SUCCEEDED' ? true : undefined));
    const metrics = await (await fetch(`${s.server.url}/metrics`)).text();
    expect(metrics).toMatch(/stint_webhook_deliveries_total\{outcome="retried"\} [1-9]/);
    await s.client.removeWebhook();
    expect(await s.client.webhook()).toEqual({ webhook: null });
  }, 30_000);
});
