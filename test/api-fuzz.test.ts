// Bad input never gets a 500: every SkyPilot corpus file, mutated at random (seeded), is submitted
// as a dry run, and — when the dry run refuses it, so no corpus command ever runs here — as a real
// submission too; each answer is a success or a 4xx with {code, message}, and no request blocks
// the server's event loop (this process's) for 200 ms or more (issue 11).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inProcessServer, REPO, type InProcessServer } from './helpers/server.js';
import { MAX_LOOP_DELAY_MS } from './helpers/event-loop.js';

let s: InProcessServer;
beforeAll(async () => {
  s = await inProcessServer({ gpus: 'A100:4' });
});
afterAll(async () => {
  await s.server.stop();
});

function corpus(dir = join(REPO, 'test', 'fixtures', 'compat', 'skypilot')): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? corpus(join(dir, e.name)) : /\.ya?ml$/.test(e.name) ? [join(dir, e.name)] : [],
  );
}

/** A small seeded generator (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NOISE = [':', '[', ']', '{', '}', '-', ' ', '\n', '\t', '"', "'", '*', '&', '!', '%', '#', '|', '>', '0', '-1', 'null', '1e999', '\u0000', 'A100:-3'];

function mutate(text: string, next: () => number): string {
  const at = Math.floor(next() * text.length);
  switch (Math.floor(next() * 4)) {
    case 0:
      return text.slice(0, at) + text.slice(at + 1 + Math.floor(next() * 20));
    case 1:
      return text.slice(0, at) + NOISE[Math.floor(next() * NOISE.length)] + text.slice(at);
    case 2: {
      const lines = text.split('\n');
      const i = Math.floor(next() * lines.length);
      lines.splice(i, 0, lines[i] ?? '');
      return lines.join('\n');
    }
    default:
      return text.replace(/:\s*\S+/, ': ' + NOISE[Math.floor(next() * NOISE.length)]);
  }
}

describe('mutated task files', () => {
  it('never get a 500, and none blocks the event loop 200 ms', async () => {
    const next = random(20261127);
    const statuses = new Map<number, number>();
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    for (const file of corpus()) {
      const original = readFileSync(file, 'utf8');
      for (let i = 0; i < 6; i++) {
        const task = mutate(mutate(original, next), next);
        for (const dryRun of [true, false]) {
          const response = await fetch(`${s.server.url}/api/v1/jobs`, {
            method: 'POST',
            headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/json' },
            body: JSON.stringify({ task, dryRun, env: { HF_TOKEN: 'x', WANDB_API_KEY: 'x' } }),
          });
          const body = (await response.json()) as { code?: string; message?: string; verdict?: { ok: boolean } };
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
          expect(response.status, `${file} #${i}: ${body.message}`).toBeLessThan(500);
          if (response.status >= 400) expect(body).toMatchObject({ code: expect.any(String), message: expect.any(String) });
          if (dryRun && response.status < 300 && body.verdict?.ok) break;
        }
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 30));
    loop.disable();
    expect(loop.max / 1e6, 'the longest event-loop delay (ms)').toBeLessThan(MAX_LOOP_DELAY_MS);
    // The mutations reach both outcomes: some files still parse, most are refused.
    expect(statuses.get(400)).toBeGreaterThan(0);
    expect([...statuses.keys()].some((status) => status < 300)).toBe(true);
  }, 300_000);
});
