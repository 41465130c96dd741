// Attacks on log reading (issue 11; review findings L5, L6, M6, M7), against a real server in this
// process: a live stream must end when its token is revoked, its user removed or (opened with the
// web session's cookie) its session ended; a user may hold only so many streams; masking 5,000
// secrets over a 16 MB log must not block the event loop (measured with monitorEventLoopDelay,
// the one timing assertion the issue asks for); a secret split across two ranged reads, or still
// being written, is never revealed in parts.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StintClient } from '../../src/api/client.js';
import { MAX_LOOP_DELAY_MS, withLoopMonitor } from '../helpers/event-loop.js';
import { inProcessServer, isEnded, sleep, waitForJob, type InProcessServer } from '../helpers/server.js';
import { raw } from './http-raw.js';

let s: InProcessServer;
const SECRET = 'TGT-SECRET-7a7a7a7a';
const MAX_STREAMS = 16;

beforeAll(async () => {
  s = await inProcessServer({ gpus: 'A100:8' });
}, 60_000);
afterAll(async () => {
  await s.server.stop();
});

async function member(name: string): Promise<{ token: string; client: StintClient }> {
  const { token } = await s.client.addUser(name, 'member');
  return { token, client: new StintClient(s.server.url, token) };
}

const ticker = { task: 'resources: {accelerators: A100:1}\nrun: while true; do echo tick; sleep 0.2; done\n' };

interface OpenStream {
  status: number;
  /** The body of a refusal (status other than 200). */
  refusal: string;
  events: Array<{ event: string; data: string }>;
  ended: Promise<void>;
  close: () => void;
}

/** Opens an SSE log stream and collects its events until the server ends it (or close()). */
async function openStream(token: string, job: number, query = '', headers: Record<string, string> = { authorization: `Bearer ${token}` }): Promise<OpenStream> {
  const abort = new AbortController();
  const response = await fetch(`${s.server.url}/api/v1/jobs/${job}/logs/stream${query}`, { headers, signal: abort.signal });
  const events: Array<{ event: string; data: string }> = [];
  if (response.status !== 200) return { status: response.status, refusal: await response.text(), events, ended: Promise.resolve(), close: () => undefined };
  const ended = (async () => {
    if (!response.body) return;
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const part of response.body) {
        buffer += decoder.decode(part as Uint8Array, { stream: true });
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          if (event) events.push({ event, data: /^data: (.*)$/m.exec(block)?.[1] ?? '' });
        }
      }
    } catch {
      // aborted by close()
    }
  })();
  return { status: response.status, refusal: '', events, ended, close: () => abort.abort() };
}

async function endsWithin(stream: OpenStream, ms: number): Promise<boolean> {
  return Promise.race([stream.ended.then(() => true), sleep(ms).then(() => false)]);
}

async function waitForLog(token: string, job: number, text: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const answer = await raw(s.server.url, `/api/v1/jobs/${job}/logs`, { headers: { authorization: `Bearer ${token}` } });
    if (answer.text.includes(text)) return;
    await sleep(100);
  }
  throw new Error(`job ${job} never printed ${text}`);
}

describe('L5: a live log stream ends when its caller is no longer valid', () => {
  it('ends within seconds of its token being revoked', async () => {
    const bob = await member('bob');
    const job = (await bob.client.submit(ticker)).id!;
    const stream = await openStream(bob.token, job);
    expect(stream.status).toBe(200);
    await waitForLog(bob.token, job, 'tick');
    const tokens = await s.client.listTokens({ user: 'bob' });
    await s.client.revokeToken(tokens.tokens[0]!.id);
    expect(await endsWithin(stream, 10_000), 'the stream still runs 10 s after the revoke').toBe(true);
    expect(stream.events.at(-1)).toMatchObject({ event: 'error' });
    expect(stream.events.at(-1)!.data).toContain('UNAUTHORIZED');
    await s.client.cancel(job);
  }, 40_000);

  it('ends within seconds of its user being removed', async () => {
    const carl = await member('carl');
    const job = (await carl.client.submit(ticker)).id!;
    const live = await openStream(carl.token, job);
    await waitForLog(carl.token, job, 'tick');
    await s.client.removeUser('carl');
    expect(await endsWithin(live, 10_000), 'the stream still runs 10 s after the removal').toBe(true);
    expect(live.events.at(-1)!.data).toContain('UNAUTHORIZED');
    await s.client.cancel(job);
  }, 40_000);
});

describe('L5 for the web session: a stream opened with the session cookie', () => {
  it('ends within seconds of that session being ended (DELETE /api/v1/session)', async () => {
    const fay = await member('fay');
    const job = (await fay.client.submit(ticker)).id!;
    const signIn = await raw(s.server.url, '/api/v1/session', { method: 'POST', body: JSON.stringify({ token: fay.token }) });
    const cookie = String(([] as string[]).concat(signIn.headers['set-cookie'] ?? [])[0]).split(';')[0]!;
    const stream = await openStream(fay.token, job, '', { cookie });
    expect(stream.status).toBe(200);
    await waitForLog(fay.token, job, 'tick');
    expect((await raw(s.server.url, '/api/v1/session', { method: 'DELETE', headers: { cookie } })).status).toBe(200);
    expect(await endsWithin(stream, 10_000), 'the stream still runs 10 s after signing out').toBe(true);
    expect(stream.events.at(-1)!.data).toContain('UNAUTHORIZED');
    // The token itself was not revoked: its bearer calls go on.
    expect((await raw(s.server.url, `/api/v1/jobs/${job}`, { headers: { authorization: `Bearer ${fay.token}` } })).status).toBe(200);
    await s.client.cancel(job);
  }, 40_000);
});

describe('L5 across servers: a revoke made by another server sharing the database', () => {
  it('ends the stream within the periodic re-check (no in-process notice)', async () => {
    const erin = await member('erin');
    const job = (await erin.client.submit(ticker)).id!;
    const stream = await openStream(erin.token, job);
    await waitForLog(erin.token, job, 'tick');
    const token = (await s.client.listTokens({ user: 'erin' })).tokens[0]!;
    // Straight to the database, as another stint server on the same home would: this server's cache is not told.
    await s.server.store.users.revokeToken(token.id, Date.now());
    expect(await endsWithin(stream, 15_000), 'the stream still runs 15 s after the revoke').toBe(true);
    expect(stream.events.at(-1)!.data).toContain('UNAUTHORIZED');
    await s.client.cancel(job);
  }, 40_000);
});

describe('L6: concurrent log streams per user are capped', () => {
  it(`the ${MAX_STREAMS + 1}th stream of one user gets 429 naming the cap; closing one frees a place`, async () => {
    const dora = await member('dora');
    const job = (await dora.client.submit(ticker)).id!;
    const streams: OpenStream[] = [];
    for (let i = 0; i < MAX_STREAMS; i++) streams.push(await openStream(dora.token, job));
    expect(streams.map((x) => x.status)).toEqual(Array(MAX_STREAMS).fill(200));
    const over = await openStream(dora.token, job);
    over.close();
    expect(over.status).toBe(429);
    expect(JSON.parse(over.refusal)).toMatchObject({ code: 'RATE_LIMITED', message: expect.stringContaining(String(MAX_STREAMS)) });
    streams.pop()!.close();
    let again: OpenStream | null = null;
    for (let i = 0; i < 50 && again?.status !== 200; i++) {
      await sleep(100);
      again?.close();
      again = await openStream(dora.token, job);
    }
    expect(again!.status).toBe(200);
    for (const x of [...streams, again!]) x.close();
    await s.client.cancel(job);
  }, 60_000);
});

describe('M6: masking is one pass over the text for all secrets', () => {
  it('5,000 secrets over a 16 MB log: the event loop is never blocked 200 ms, and every secret is masked', async () => {
    const secrets = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`S${i}`, `sec-${String(i).padStart(5, '0')}-xyz`]));
    const size = 16 * 1024 * 1024;
    const task = `resources: {accelerators: A100:1}\nrun: |\n  echo start sec-00042-xyz\n  yes 'the quick brown fox jumps over the lazy dog 0123456789' | head -c ${size - 4096}\n  echo; echo end sec-04999-xyz\n`;
    const job = (await s.client.submit({ task, secrets })).id!;
    await waitForJob(s.client, job, isEnded, 60_000);
    const { result: answer, delay } = await withLoopMonitor(() => raw(s.server.url, `/api/v1/jobs/${job}/logs?limit=${size}`, { headers: { authorization: `Bearer ${s.token}` } }));
    expect(answer.status, answer.text.slice(0, 300)).toBe(200);
    const text = (JSON.parse(answer.text) as { text: string }).text;
    expect(text.startsWith('start <secret>\n')).toBe(true);
    expect(text.endsWith('\nend <secret>\n')).toBe(true);
    expect(text).not.toContain('sec-0');
    console.log(`M6: the event loop was blocked at most ${delay.maxMs.toFixed(1)} ms`);
    expect(delay.maxMs, `event loop blocked ${delay.maxMs.toFixed(0)} ms`).toBeLessThan(MAX_LOOP_DELAY_MS);
  }, 180_000);
});

describe('a huge secret cannot exhaust the server through masking (red-team finding)', () => {
  it('a 1.8 M-character secret is refused at submit naming its length and the cap, and so are secrets past the total', async () => {
    const big = await s.client.submit({ task: 'run: echo hi\nsecrets: {BIG: null}\n', secrets: { BIG: 'Q'.repeat(1_800_000) } }).then(() => null, (e: unknown) => e);
    expect(big).toMatchObject({ code: 'INVALID_SPEC', details: { issues: expect.arrayContaining([expect.objectContaining({ field: 'secrets.BIG', value: 1_800_000, accepted: 'at most 16384 characters' })]) } });
    expect(JSON.stringify(big)).not.toContain('QQQQ');
    const many = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`K${i}`, `${i}-`.padEnd(16_000, 'z')]));
    const total = await s.client.submit({ task: 'run: echo hi\n', secrets: many }).then(() => null, (e: unknown) => e);
    expect(total).toMatchObject({ code: 'INVALID_SPEC', details: { issues: expect.arrayContaining([expect.objectContaining({ field: 'secrets', accepted: 'at most 262144 characters in all secrets' })]) } });
  });

  it('concurrent reads of a job with large secrets share one matcher and keep the event loop free', async () => {
    const secrets = Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`K${i}`, `${i}-`.padEnd(16_000, 'k')]));
    const job = (await s.client.submit({ task: 'resources: {accelerators: A100:1}\nrun: echo hello\n', secrets })).id!;
    await waitForJob(s.client, job, isEnded, 60_000);
    const { result, delay } = await withLoopMonitor(() => Promise.all(Array.from({ length: 16 }, () => raw(s.server.url, `/api/v1/jobs/${job}/logs?limit=1`, { headers: { authorization: `Bearer ${s.token}` } }))));
    expect(result.map((r) => r.status)).toEqual(Array(16).fill(200));
    expect(delay.maxMs, `event loop blocked ${delay.maxMs.toFixed(0)} ms`).toBeLessThan(MAX_LOOP_DELAY_MS);
  }, 120_000);
});

describe('M7: a secret split across reads is never revealed in parts', () => {
  const fragments = Array.from({ length: SECRET.length - 2 }, (_, i) => SECRET.slice(i, i + 3));
  const expectNoFragment = (text: string, what: string) => {
    for (const f of fragments) expect(text, `${what} shows "${f}"`).not.toContain(f);
  };
  const read = async (job: number, query: string) =>
    JSON.parse((await raw(s.server.url, `/api/v1/jobs/${job}/logs?${query}`, { headers: { authorization: `Bearer ${s.token}` } })).text) as { text: string; nextOffset: number; size: number };

  it('two ranges split anywhere inside the secret (offset=0&limit=18, offset=18, and every other split)', async () => {
    const job = (await s.client.submit({ task: 'resources: {accelerators: A100:1}\nsecrets: {TGT: null}\nrun: echo "target running $TGT"; echo more\n', secrets: { TGT: SECRET } })).id!;
    await waitForJob(s.client, job, isEnded);
    const first = await read(job, 'offset=0&limit=18');
    const second = await read(job, 'offset=18');
    expect(first.text).toBe('target running <secret>');
    expect(second.text).toBe('<secret>\nmore\n');
    for (let k = 1; k < 40; k++) {
      expectNoFragment((await read(job, `offset=0&limit=${k}`)).text, `[0, ${k})`);
      expectNoFragment((await read(job, `offset=${k}`)).text, `[${k}, end)`);
      expectNoFragment((await read(job, `offset=-${k}`)).text, `the last ${k} bytes`);
    }
    let offset = 0;
    let joined = '';
    for (let guard = 0; guard < 100 && offset < first.size; guard++) {
      const part = await read(job, `offset=${offset}&limit=5`);
      joined += part.text;
      offset = part.nextOffset;
    }
    expectNoFragment(joined, 'reads of 5 bytes');
    expect(joined).toMatch(/^target running (<secret>)+\nmore\n$/);
  }, 60_000);

  it('a secret still being written is held back by the stream and by ranged reads until it is complete', async () => {
    const task = 'resources: {accelerators: A100:1}\nsecrets: {TGT: null}\nrun: |\n  printf "begin %s" "${TGT%RET-7a7a7a7a}"\n  sleep 3\n  printf "%s\\ndone\\n" "${TGT#TGT-SEC}"\n';
    const job = (await s.client.submit({ task, secrets: { TGT: SECRET } })).id!;
    const stream = await openStream(s.token, job);
    await waitForLog(s.token, job, 'begin');
    const live = await read(job, 'offset=0');
    expect(live.text).toBe('begin ');
    expect(live.nextOffset).toBe('begin '.length);
    await stream.ended;
    const streamed = stream.events.filter((e) => e.event === 'log').map((e) => (JSON.parse(e.data) as { text: string }).text).join('');
    expectNoFragment(streamed, 'the stream');
    expect(streamed).toBe('begin <secret>\ndone\n');
  }, 60_000);
});
