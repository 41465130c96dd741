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
    expect(await parser.parse(text, opts)).toEqual(parseTaskFile(text, opts));
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
      const viaWorker = await parser.parse(text, opts).catch((error: StintError) => error.toJSON());
      expect(viaWorker, file).toEqual(inline);
    }
  }, 60_000);

  it('rebuilds the StintError parseTaskFile throws', async () => {
    const error = await parser.parse('resource: {cpus: 2}\nrun: x', { fileName: 't.yaml' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StintError);
    expect(error).toMatchObject({ code: 'INVALID_SPEC', message: expect.stringMatching(/^t\.yaml has a problem/), details: { issues: [expect.objectContaining({ field: 'resource' })] } });
  }, 30_000);

  it('answers files in order, several at once', async () => {
    const files = await Promise.all(Array.from({ length: 5 }, (_, i) => parser.parse(`name: n${i}\nrun: x`)));
    expect(files.map((f) => f.name)).toEqual(['n0', 'n1', 'n2', 'n3', 'n4']);
  }, 30_000);

  it('refuses a file that takes longer than the time limit, and the next file gets a fresh worker', async () => {
    const slowParser = new TaskParser({ timeLimitMs: 50 });
    try {
      const garbage = Array.from({ length: 8000 }, (_, i) => `${i}: [: {] } ] : - ? &`).join('\n');
      await expect(slowParser.parse(garbage)).rejects.toMatchObject({ code: 'INVALID_SPEC', message: expect.stringMatching(/took longer than 0.05 s/) });
      const quick = new TaskParser();
      expect((await quick.parse('name: after\nrun: x')).name).toBe('after');
      await quick.close();
    } finally {
      await slowParser.close();
    }
  }, 60_000);

  it('refuses a file when MAX_QUEUED are already waiting', async () => {
    const small = new TaskParser({ maxQueued: 2 });
    try {
      const results = await Promise.allSettled(Array.from({ length: 4 }, (_, i) => small.parse(`name: q${i}\nrun: x`)));
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'rejected']);
      expect((results[3] as PromiseRejectedResult).reason).toMatchObject({ code: 'RATE_LIMITED', details: { retryAfterSeconds: 5 } });
    } finally {
      await small.close();
    }
  }, 30_000);

  it('refuses files once closed', async () => {
    const closed = new TaskParser();
    await closed.close();
    await expect(closed.parse('run: x')).rejects.toMatchObject({ code: 'SERVER_UNREACHABLE' });
  });
});
