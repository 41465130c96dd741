import { lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StintError } from '../core/errors.js';
import { checkArchive, unpackWorkdir } from './unpack.js';

let tmp: string;
beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'stint-unpack-'));
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

// A ustar writer built by hand, independent of src/workdir/tar.ts, so the hostile archives below
// are not limited by what our own writer would produce.
interface RawEntry {
  name: string;
  type: '0' | '1' | '2' | '3' | '5' | '6';
  data?: string;
  link?: string;
}

function rawHeader(entry: RawEntry, size: number): Buffer {
  const block = Buffer.alloc(512);
  block.write(entry.name, 0, 100, 'utf8');
  block.write('0000644\0', 100, 8, 'ascii');
  block.write('0000000\0', 108, 8, 'ascii');
  block.write('0000000\0', 116, 8, 'ascii');
  block.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 12, 'ascii');
  block.write('00000000000\0', 136, 12, 'ascii');
  block.write(entry.type, 156, 1, 'ascii');
  block.write(entry.link ?? '', 157, 100, 'utf8');
  block.write('ustar\0' + '00', 257, 8, 'ascii');
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return block;
}

function handMadeTar(entries: RawEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const data = Buffer.from(entry.data ?? '');
    parts.push(rawHeader(entry, data.length), data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  return gzipSync(Buffer.concat([...parts, Buffer.alloc(1024)]));
}

async function refusal(entries: RawEntry[], dest: string): Promise<StintError> {
  const error = await unpackWorkdir(handMadeTar(entries), dest).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(StintError);
  return error as StintError;
}

describe('unpackWorkdir refuses archives that escape the job directory', () => {
  it.each([
    ['a ".." path', { name: '../evil.txt', type: '0', data: 'x' }, '"../evil.txt"'],
    ['a nested ".." path', { name: 'ok/../../evil.txt', type: '0', data: 'x' }, '"ok/../../evil.txt"'],
    ['an absolute path', { name: '/tmp/stint-evil.txt', type: '0', data: 'x' }, '"/tmp/stint-evil.txt"'],
    ['a symlink to an absolute path', { name: 'passwd', type: '2', link: '/etc/passwd' }, '"/etc/passwd"'],
    ['a symlink climbing out', { name: 'up', type: '2', link: '../../..' }, '"../../.."'],
    ['a hard link', { name: 'hard', type: '1', link: 'x' }, 'tar type "1"'],
    ['a device', { name: 'dev', type: '3' }, 'tar type "3"'],
  ] as [string, RawEntry, string][])('refuses %s, naming the entry, and writes nothing', async (_, evil, mention) => {
    const job = path.join(tmp, 'jobs', 'j1');
    const error = await refusal([{ name: 'fine.txt', type: '0', data: 'ok' }, evil], job);
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.message).toContain('refusing to unpack the workdir archive');
    expect(error.message).toContain(mention);
    expect(error.details).toMatchObject({ entry: evil.name });
    await expect(readdir(job)).rejects.toThrow();
    await expect(lstat(path.join(tmp, 'jobs', 'evil.txt'))).rejects.toThrow();
  });

  it('refuses to write through a symlink that, combined with another, points outside', async () => {
    const job = path.join(tmp, 'job');
    await mkdir(job);
    // `p` → `.` is harmless alone, and `p/l` → `../secret` looks like `secret` inside the job,
    // but through `p` it really is job/l → ../secret, outside the job.
    const error = await refusal([
      { name: 'p', type: '2', link: '.' },
      { name: 'p/l', type: '2', link: '../secret' },
    ], job);
    expect(error.message).toContain('"p/l"');
    await expect(lstat(path.join(job, 'l'))).rejects.toThrow();
  });

  it('refuses a path that walks through a symlink leading outside', async () => {
    const outside = path.join(tmp, 'outside');
    await mkdir(outside);
    const job = path.join(tmp, 'job');
    await mkdir(job);
    await import('node:fs/promises').then((fs) => fs.symlink(outside, path.join(job, 'planted')));
    const error = await refusal([{ name: 'planted/evil.txt', type: '0', data: 'x' }], job);
    expect(error.message).toContain('through a symlink');
    expect(await readdir(outside)).toEqual([]);
  });

  it('refuses at check time an entry whose path passes through an earlier symlink entry (d/l -> .., d/l/x -> ..)', async () => {
    // Each link looks safe on paper from the path as written, but d/l/x really is ./x -> .., outside.
    const chain = handMadeTar([
      { name: 'd/', type: '5' },
      { name: 'd/l', type: '2', link: '..' },
      { name: 'd/l/x', type: '2', link: '..' },
      { name: 'ok.txt', type: '0', data: 'ok' },
    ]);
    const checked = await checkArchive(chain).catch((e: unknown) => e);
    expect(checked).toMatchObject({ code: 'INVALID_REQUEST', message: expect.stringMatching(/"d\/l\/x" passes through "d\/l", a symlink made by an earlier entry/), details: { entry: 'd/l/x' } });
    const job = path.join(tmp, 'job');
    const launched = await refusal([{ name: './d/', type: '5' }, { name: './d/l', type: '2', link: '..' }, { name: './d/l/x', type: '0', data: 'x' }], job);
    expect(launched.message).toMatch(/passes through "d\/l"/);
    await expect(readdir(job)).rejects.toThrow();
  });

  it('replaces a symlink entry by a later file entry instead of writing through it', async () => {
    const outside = path.join(tmp, 'outside.txt');
    await writeFile(outside, 'untouched');
    const job = path.join(tmp, 'job');
    await unpackWorkdir(handMadeTar([
      { name: 'a.txt', type: '2', link: 'b.txt' },
      { name: 'b.txt', type: '0', data: 'b' },
      { name: 'a.txt', type: '0', data: 'a' },
    ]), job);
    expect((await lstat(path.join(job, 'a.txt'))).isFile()).toBe(true);
    expect(await readFile(path.join(job, 'a.txt'), 'utf8')).toBe('a');
    expect(await readFile(path.join(job, 'b.txt'), 'utf8')).toBe('b');
    expect(await readFile(outside, 'utf8')).toBe('untouched');
  });
});

describe('unpackWorkdir on damaged input', () => {
  it('rejects a bad checksum, a truncated archive and bad gzip', async () => {
    const good = handMadeTar([{ name: 'a.txt', type: '0', data: 'hello' }]);
    const tar = (await import('node:zlib')).gunzipSync(good);
    const flipped = Buffer.from(tar);
    flipped[0] = 0x41;
    await expect(unpackWorkdir(flipped, path.join(tmp, 'a'))).rejects.toThrow(/checksum/);
    await expect(unpackWorkdir(tar.subarray(0, 600), path.join(tmp, 'b'))).rejects.toThrow(/cut short|ends before/);
    await expect(unpackWorkdir(Buffer.from([0x1f, 0x8b, 1, 2, 3]), path.join(tmp, 'c'))).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
  });

  it('accepts an archive holding only the root directory entry', async () => {
    expect(await unpackWorkdir(handMadeTar([{ name: './', type: '5' }]), path.join(tmp, 'd'))).toEqual({ files: 0 });
  });
});

describe('unpackWorkdir within its limits', () => {
  const limits = { maxUnpackedBytes: 1024 * 1024, maxEntries: 10, maxDepth: 4 };

  it('stops a gzip stream that unpacks past maxUnpackedBytes, writing nothing', async () => {
    const bomb = handMadeTar([{ name: 'zeros', type: '0', data: '\0'.repeat(2 * 1024 * 1024) }]);
    expect(bomb.length).toBeLessThan(64 * 1024);
    const error = await checkArchive(bomb, limits).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'WORKDIR_TOO_LARGE', message: expect.stringMatching(/unpacks to more than 1 MiB; at most 1 MiB/) });
    await expect(unpackWorkdir(bomb, path.join(tmp, 'bomb'), limits)).rejects.toMatchObject({ code: 'WORKDIR_TOO_LARGE' });
    await expect(lstat(path.join(tmp, 'bomb'))).rejects.toThrow();
  });

  it('refuses more entries than maxEntries and paths deeper than maxDepth, naming the entry', async () => {
    const many = handMadeTar(Array.from({ length: 11 }, (_, i) => ({ name: `f${i}`, type: '0', data: 'x' })));
    await expect(checkArchive(many, limits)).rejects.toMatchObject({ code: 'WORKDIR_TOO_LARGE', message: expect.stringMatching(/more than 10 entries/) });
    const deep = handMadeTar([{ name: 'a/b/c/d/e.txt', type: '0', data: 'x' }]);
    await expect(checkArchive(deep, limits)).rejects.toMatchObject({ code: 'INVALID_REQUEST', message: expect.stringMatching(/"a\/b\/c\/d\/e.txt" is 5 directories deep; at most 4/) });
  });

  it('streams a file larger than one chunk intact, and summarises the archive', async () => {
    const data = Array.from({ length: 300_000 }, (_, i) => String.fromCharCode(97 + (i % 26))).join('');
    const archive = handMadeTar([{ name: 'big.txt', type: '0', data }, { name: 'small.txt', type: '0', data: 'ok' }]);
    expect(await checkArchive(archive)).toEqual({ entries: 2, dataBytes: 300_002 });
    const archivePath = path.join(tmp, 'a.tar.gz');
    await writeFile(archivePath, archive);
    await unpackWorkdir(archivePath, path.join(tmp, 'out'));
    expect(await readFile(path.join(tmp, 'out', 'big.txt'), 'utf8')).toBe(data);
    expect(await readFile(path.join(tmp, 'out', 'small.txt'), 'utf8')).toBe('ok');
  });
});
