// The task parser worker answers exactly what parseTaskFile does, off the event loop.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StintError } from '../../core/errors.js';
import { parseTaskFile } from '../../core/spec/parse.js';
import { TaskParser } from './task-parser.js';

const parser = new TaskParser();

function corpus(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? corpus(join(dir, e.name)) : /\.ya?ml$/.test(e.name) ? [join(dir, e.name)] : []));
}
afterAll(() => parser.close());

describe('TaskParser', () => {
  it('returns the same TaskFile as parseTaskFile', async () => {
    const text = 'name: t\nenvs: {A: &v 1, B: *v}\nsecrets: {S: null}\nresources: {accelerators: A100:2}\nrun: echo $A\n';
    const opts = { secretOverrides: { S: 'x' } };
    expect(await parser.parse(text, opts, 1)).toEqual(parseTaskFile(text, opts));
  }, 30_000);

  it('answers every SkyPilot corpus file as parseTaskFile does', async () => {
    const files = corpus(join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'compat', 'skypilot'));
    expect(files.length).toBeGreaterThan(10);
    const opts = { envOverrides: { HF_TOKEN: 'x', WANDB_API_KEY: 'x' } };
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      const inline = (() => {
        try {
          return parseTaskFile(text, opts);
        } catch (error) {
          return (error as StintError).toJSON();
        }
      })();
      const viaWorker = await parser.parse(text, opts, 1).catch((error: StintError) => error.toJSON());
      expect(viaWorker, file).toEqual(inline);
    }
  }, 60_000);

  it('rebuilds the StintError parseTaskFile throws', async () => {
    const error = await parser.parse('resource: {cpus: 2}\nrun: x', { fileName: 't.yaml' }, 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StintError);
    expect(error).toMatchObject({ code: 'INVALID_SPEC', message: expect.stringMatching(/^t\.yaml has a problem/), details: { issues: [expect.objectContaining({ field: 'resource' })] } });
  }, 30_000);

  it('answers files in order, several at once', async () => {
    const files = await Promise.all(Array.from({ length: 5 }, (_, i) => parser.parse(`name: n${i}\nrun: x`, {}, i)));
    expect(files.map((f) => f.name)).toEqual(['n0', 'n1', 'n2', 'n3', 'n4']);
  }, 30_000);

  it('refuses a file that takes longer than the time limit, and the next file gets a fresh worker', async () => {
    const slowParser = new TaskParser({ timeLimitMs: 50 });
    try {
      const garbage = Array.from({ length: 8000 }, (_, i) => `${i}: [: {] } ] : - ? &`).join('\n');
      await expect(slowParser.parse(garbage, {}, 1)).rejects.toMatchObject({ code: 'INVALID_SPEC', message: expect.stringMatching(/took longer than 0.05 s/) });
      const quick = new TaskParser();
      expect((await quick.parse('name: after\nrun: x', {}, 1)).name).toBe('after');
      await quick.close();
    } finally {
      await slowParser.close();
    }
  }, 60_000);

  it('refuses a file when MAX_QUEUED are already waiting', async () => {
    const small = new TaskParser({ maxQueued: 2 });
    try {
      const results = await Promise.allSettled(Array.from({ length: 4 }, (_, i) => small.parse(`name: q${i}\nrun: x`, {}, i)));
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'rejected']);
      expect((results[3] as PromiseRejectedResult).reason).toMatchObject({ code: 'RATE_LIMITED', details: { retryAfterSeconds: 5 } });
    } finally {
      await small.close();
    }
  }, 30_000);

  it('serves submitters in turn and holds each to MAX_PER_SUBMITTER files: a flood delays another user by one file', async () => {
    const limitMs = 1_000;
    const fair = new TaskParser({ timeLimitMs: limitMs, maxPerSubmitter: 2 });
    try {
      await fair.parse('run: warm', {}, 99);
      // The red team's file: 256 KiB that takes ~8 s to read, refused after the time limit.
      const slow = 'run: x\nx: [' + '>\n'.repeat(131_000) + ']';
      const settled: string[] = [];
      const flood = Array.from({ length: 4 }, (_, i) =>
        fair.parse(slow, {}, 1).then(
          () => 'read',
          (error: StintError) => (settled.push(`a${i}`), error),
        ),
      );
      const started = Date.now();
      const small = await fair.parse('name: small\nrun: x', {}, 2);
      settled.push('b');
      const waitedMs = Date.now() - started;
      const answers = await Promise.all(flood);
      expect(small.name).toBe('small');
      expect(answers.slice(0, 2)).toMatchObject([{ code: 'INVALID_SPEC' }, { code: 'INVALID_SPEC' }]);
      for (const refused of answers.slice(2)) {
        expect(refused).toMatchObject({ code: 'RATE_LIMITED', message: expect.stringMatching(/at most 2 per submitter/), details: { perSubmitter: 2, retryAfterSeconds: 5 } });
      }
      // B's file went before A's second one: it waited for one file's time limit, not the flood.
      expect(settled.filter((s) => s !== 'a2' && s !== 'a3')).toEqual(['a0', 'b', 'a1']);
      expect(waitedMs).toBeLessThan(2 * limitMs + 3_000);
    } finally {
      await fair.close();
    }
  }, 60_000);

  it('refuses files once closed', async () => {
    const closed = new TaskParser();
    await closed.close();
    await expect(closed.parse('run: x', {}, 1)).rejects.toMatchObject({ code: 'SERVER_UNREACHABLE' });
  });
});
