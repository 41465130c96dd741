// The one-pass masker against a naive reference on random texts, and ranged reads of a real log
// file (through the local backend's reader) split at every byte: no split reveals what the whole
// read masks.

import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Backend } from '../backends/backend.js';
import { readLogFile } from '../backends/local/backend.js';
import { readMaskedLog } from './masked-log.js';
import { maskSecrets, MIN_MASKED_LENGTH, renderMasked, SecretMatcher } from './secret-mask.js';

/** Marks every character covered by an occurrence of any value, then renders like renderMasked. */
function naiveMask(text: string, values: string[]): string {
  const covered = new Array<boolean>(text.length).fill(false);
  for (const v of values.filter((x) => x.length >= MIN_MASKED_LENGTH)) {
    for (let i = text.indexOf(v); i >= 0; i = text.indexOf(v, i + 1)) covered.fill(true, i, i + v.length);
  }
  // Occurrences that only touch stay separate masks in renderMasked; compare coverage, not masks.
  return text.split('').map((c, i) => (covered[i] ? '#' : c)).join('');
}

function coverageOf(text: string, regions: number[]): string {
  const chars = text.split('');
  for (let i = 0; i < regions.length; i += 2) chars.fill('#', regions[i], regions[i + 1]);
  return chars.join('');
}

function random(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x / 2 ** 31;
  };
}

describe('SecretMatcher', () => {
  it('covers exactly what a naive search covers, on random texts over a small alphabet', async () => {
    const rand = random(7);
    const word = (n: number) => Array.from({ length: n }, () => 'abc'[Math.floor(rand() * 3)]).join('');
    for (let round = 0; round < 200; round++) {
      const values = Array.from({ length: 1 + Math.floor(rand() * 6) }, () => word(2 + Math.floor(rand() * 6)));
      const text = word(Math.floor(rand() * 80));
      const matcher = await SecretMatcher.of(Object.fromEntries(values.map((v, i) => [`K${i}`, v])));
      expect(coverageOf(text, (await matcher.cover(text)).regions), `${JSON.stringify(values)} in ${text}`).toBe(naiveMask(text, values));
    }
  });

  it('masks each occurrence once, merges overlaps, ignores short values and keeps the rest', async () => {
    expect(await maskSecrets('token=hunter22 and hunter22hunter22, pw=abc', { A: 'hunter22', B: 'abc' })).toBe('token=<secret> and <secret><secret>, pw=abc');
    expect(await maskSecrets('xxABCDEFxx', { A: 'ABCDE', B: 'CDEF' })).toBe('xx<secret>xx');
    expect(await maskSecrets('nothing here', {})).toBe('nothing here');
    expect(await maskSecrets('émoji 🔑key🔑 here', { K: '🔑key🔑' })).toBe('émoji <secret> here');
  });

  it('reports the longest tail that starts a value (what a growing log holds back)', async () => {
    const matcher = await SecretMatcher.of({ A: 'TGT-SECRET-7a7a7a7a', B: 'zzzz' });
    expect((await matcher.cover('begin TGT-SEC')).pending).toBe('TGT-SEC'.length);
    expect((await matcher.cover('begin zz')).pending).toBe(2);
    expect((await matcher.cover('begin')).pending).toBe(0);
  });

  it('cuts a range out of the masked window with one mask per overlapping region', () => {
    const text = '0123SECRET4567';
    const regions = [4, 10];
    expect(renderMasked(text, regions, 0, 6)).toBe('0123<secret>');
    expect(renderMasked(text, regions, 6, text.length)).toBe('<secret>4567');
    expect(renderMasked(text, regions, 5, 8)).toBe('<secret>');
    expect(renderMasked(text, regions, 10, 12)).toBe('45');
  });
});

describe('readMaskedLog over a real file', () => {
  it('no split of the log into two reads shows what one read of it masks', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stint-mask-'));
    const path = join(dir, 'output.log');
    const secrets = { A: 'TGT-SECRET-7a7a7a7a', B: 'pässwörd', C: 'abcd' };
    const log = 'start abcdabcd TGT-SECRET-7a7a7a7a mid pässwörd TGT-SECRET-7a7a7a7aTGT-SECRET-7a7a7a7a end abc\n';
    await writeFile(path, log);
    const backend = { readLog: (_ref: unknown, offset: number, limit: number) => readLogFile(path, offset, limit) } as unknown as Backend;
    const ref = { jobId: 1, attempt: 1, handle: {} };
    const matcher = await SecretMatcher.of(secrets);
    const collapse = (t: string) => t.replace(/(<secret>)+/g, '<secret>');
    const whole = collapse((await readMaskedLog(backend, ref, 0, 1 << 20, { matcher, ended: true })).text);
    expect(whole).toBe('start <secret> <secret> mid <secret> <secret> end abc\n');
    const bytes = Buffer.byteLength(log);
    for (let k = 1; k < bytes; k++) {
      const first = await readMaskedLog(backend, ref, 0, k, { matcher, ended: true });
      const second = await readMaskedLog(backend, ref, first.nextOffset, 1 << 20, { matcher, ended: true });
      // Also a split inside ä or ö of pässwörd: the character is read whole from the window.
      expect(collapse(first.text + second.text), `split at byte ${k}`).toBe(whole);
    }
  });

  it('a character split by an edge outside any secret shows as U+FFFD on each side, as unmasked', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stint-mask-'));
    const path = join(dir, 'output.log');
    await writeFile(path, 'café TGT-SECRET-7a7a7a7a\n');
    const backend = { readLog: (_ref: unknown, offset: number, limit: number) => readLogFile(path, offset, limit) } as unknown as Backend;
    const ref = { jobId: 1, attempt: 1, handle: {} };
    const matcher = await SecretMatcher.of({ A: 'TGT-SECRET-7a7a7a7a' });
    expect((await readMaskedLog(backend, ref, 0, 4, { matcher, ended: true })).text).toBe('caf\uFFFD');
    expect((await readMaskedLog(backend, ref, 4, 100, { matcher, ended: true })).text).toBe('\uFFFD <secret>\n');
  });

  it('holds back a character still being written, and what it may complete', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stint-mask-'));
    const path = join(dir, 'output.log');
    const backend = { readLog: (_ref: unknown, offset: number, limit: number) => readLogFile(path, offset, limit) } as unknown as Backend;
    const ref = { jobId: 1, attempt: 1, handle: {} };
    const matcher = await SecretMatcher.of({ B: 'pässwörd' });
    await writeFile(path, Buffer.concat([Buffer.from('begin p'), Buffer.from('ä').subarray(0, 1)]));
    expect(await readMaskedLog(backend, ref, 0, 1 << 20, { matcher, ended: false })).toMatchObject({ text: 'begin ', nextOffset: 6, heldBack: 2 });
    await writeFile(path, Buffer.concat([Buffer.from('begin €'), Buffer.from('€').subarray(0, 2)]));
    expect(await readMaskedLog(backend, ref, 0, 1 << 20, { matcher, ended: false })).toMatchObject({ text: 'begin €', nextOffset: 9, heldBack: 2 });
    await writeFile(path, 'begin pässwörd!');
    const split = Buffer.byteLength('begin pä') - 1;
    const first = await readMaskedLog(backend, ref, 0, split, { matcher, ended: false });
    const rest = await readMaskedLog(backend, ref, first.nextOffset, 1 << 20, { matcher, ended: false });
    expect(first.text + rest.text).toBe('begin <secret><secret>!');
  });

  it('holds back a tail that may start a secret while the attempt runs, and gives it once it ended', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stint-mask-'));
    const path = join(dir, 'output.log');
    await writeFile(path, 'begin TGT-SEC');
    const backend = { readLog: (_ref: unknown, offset: number, limit: number) => readLogFile(path, offset, limit) } as unknown as Backend;
    const ref = { jobId: 1, attempt: 1, handle: {} };
    const matcher = await SecretMatcher.of({ A: 'TGT-SECRET-7a7a7a7a' });
    const running = await readMaskedLog(backend, ref, 0, 1 << 20, { matcher, ended: false });
    expect(running).toMatchObject({ text: 'begin ', nextOffset: 6, heldBack: 7, size: 13 });
    await writeFile(path, 'begin TGT-SECRET-7a7a7a7a\n');
    const rest = await readMaskedLog(backend, ref, running.nextOffset, 1 << 20, { matcher, ended: false });
    expect(rest).toMatchObject({ text: '<secret>\n', heldBack: 0 });
    await writeFile(path, 'begin TGT-SEC');
    expect((await readMaskedLog(backend, ref, 0, 1 << 20, { matcher, ended: true })).text).toBe('begin TGT-SEC');
  });
});
