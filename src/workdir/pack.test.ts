import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StintError } from '../core/errors.js';
import { packWorkdir } from './pack.js';
import { readTar } from './tar.js';
import { unpackWorkdir } from './unpack.js';

let tmp: string;
beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'stint-pack-'));
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** Writes files (path → content) under `root`, creating directories. */
async function tree(root: string, files: Record<string, string | Buffer>): Promise<void> {
  for (const [file, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, file)), { recursive: true });
    await writeFile(path.join(root, file), content);
  }
}

function entryPaths(archive: Buffer): string[] {
  return [...readTar(gunzipSync(archive))].map(({ entry }) => (entry.type === 'directory' ? `${entry.path}/` : entry.path));
}

const BIG = 1 << 30;

describe('packWorkdir: what goes in', () => {
  it('skips .git and honours nested .gitignore files relative to their own directory', async () => {
    const dir = path.join(tmp, 'w');
    await tree(dir, {
      '.git/HEAD': 'ref: refs/heads/main\n',
      '.gitignore': '*.log\noutputs/\n/top-only.txt\n',
      'train.py': 'print(1)\n',
      'debug.log': 'x',
      'top-only.txt': 'x',
      'outputs/ckpt.pt': 'x',
      'src/.gitignore': 'cache/\n*.tmp\n',
      'src/model.py': 'm',
      'src/top-only.txt': 'kept: the root rule is anchored to the root',
      'src/a.tmp': 'x',
      'src/cache/blob': 'x',
      'src/deep/run.log': 'x',
      'notes/a.tmp': 'kept: the src rule does not reach here',
    });
    const packed = await packWorkdir(dir, { maxBytes: BIG });
    expect(entryPaths(packed.archive)).toEqual([
      '.gitignore',
      'notes/',
      'notes/a.tmp',
      'src/',
      'src/.gitignore',
      'src/deep/',
      'src/model.py',
      'src/top-only.txt',
      'train.py',
    ]);
    expect(packed.files).toBe(6);
  });

  it('applies negations, deeper files over shallower ones, and .stintignore over .gitignore', async () => {
    const dir = path.join(tmp, 'w');
    await tree(dir, {
      '.gitignore': '*.csv\n!keep.csv\ndata/\n',
      '.stintignore': '!small.csv\nbig.bin\n',
      'keep.csv': 'k',
      'drop.csv': 'd',
      'small.csv': 's',
      'big.bin': 'b',
      'data/inside.csv': 'excluded directories are never entered, as in git',
      'sub/.gitignore': '!local.csv\n',
      'sub/local.csv': 'l',
      'sub/other.csv': 'o',
    });
    const paths = entryPaths((await packWorkdir(dir, { maxBytes: BIG })).archive);
    expect(paths).toEqual(['.gitignore', '.stintignore', 'keep.csv', 'small.csv', 'sub/', 'sub/.gitignore', 'sub/local.csv']);
  });

  it('keeps symlinks that stay inside the tree as symlinks and skips (and reports) the others', async () => {
    const dir = path.join(tmp, 'w');
    await tree(dir, { 'data/real.txt': 'r', 'outside.txt': 'o' });
    await symlink('data/real.txt', path.join(dir, 'inside-link'));
    await symlink('../../outside-secret', path.join(dir, 'data/escape'));
    await symlink('/etc/hostname', path.join(dir, 'absolute'));
    await symlink('data', path.join(dir, 'dir-link'));
    const packed = await packWorkdir(dir, { maxBytes: BIG });
    const entries = [...readTar(gunzipSync(packed.archive))].map(({ entry }) => entry);
    expect(entries.filter((e) => e.type === 'symlink').map((e) => [e.path, e.linkTarget])).toEqual([
      ['dir-link', 'data'],
      ['inside-link', 'data/real.txt'],
    ]);
    expect(packed.skipped.map((s) => s.path).sort()).toEqual(['absolute', 'data/escape']);
    expect(entries.some((e) => e.path.startsWith('dir-link/'))).toBe(false);
  });
});

describe('packWorkdir: limits and errors', () => {
  it('refuses a workdir over the cap, naming the size, the limit, the largest entries and the fix', async () => {
    const dir = path.join(tmp, 'w');
    await tree(dir, {
      'data/a.bin': Buffer.alloc(5000),
      'data/b.bin': Buffer.alloc(3000),
      'model.ckpt': Buffer.alloc(4000),
      'src/x.py': Buffer.alloc(300),
      'src/y.py': Buffer.alloc(200),
      'train.py': Buffer.alloc(100),
      'README.md': Buffer.alloc(50),
    });
    const error = await packWorkdir(dir, { maxBytes: 10_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StintError);
    const stint = error as StintError;
    expect(stint.code).toBe('WORKDIR_TOO_LARGE');
    expect(stint.message).toContain('12.4 KiB');
    expect(stint.message).toContain('9.8 KiB limit');
    expect(stint.message).toContain('data/  7.8 KiB');
    expect(stint.message).toContain('.stintignore');
    expect(stint.message).toContain('.gitignore');
    expect(stint.message).toContain('  /data/\n');
    expect(stint.message).not.toContain('  /model.ckpt');
    expect(stint.details).toEqual({
      bytes: 12650,
      maxBytes: 10_000,
      largest: [
        { path: 'data/', bytes: 8000 },
        { path: 'model.ckpt', bytes: 4000 },
        { path: 'src/', bytes: 500 },
        { path: 'train.py', bytes: 100 },
        { path: 'README.md', bytes: 50 },
      ],
    });
  });

  it('counts only what would be shipped against the cap', async () => {
    const dir = path.join(tmp, 'w');
    await tree(dir, { '.stintignore': 'huge.bin\n', 'huge.bin': Buffer.alloc(50_000), 'train.py': 'x' });
    const packed = await packWorkdir(dir, { maxBytes: 1000 });
    expect(packed.bytes).toBe(Buffer.byteLength('huge.bin\n') + 1);
  });

  it('names `workdir` and the path when the directory is missing or is a file', async () => {
    const missing = path.join(tmp, 'nope');
    await expect(packWorkdir(missing, { maxBytes: BIG })).rejects.toMatchObject({
      code: 'INVALID_SPEC',
      message: `workdir: ${missing} does not exist`,
      details: { field: 'workdir', path: missing },
    });
    await writeFile(path.join(tmp, 'file'), 'x');
    await expect(packWorkdir(path.join(tmp, 'file'), { maxBytes: BIG })).rejects.toThrow(/is not a directory/);
  });
});

describe('packWorkdir → unpackWorkdir', () => {
  it('round-trips content byte for byte, with the executable bit, empty files and empty directories', async () => {
    const dir = path.join(tmp, 'w');
    const binary = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7919) % 256));
    await tree(dir, { 'run.sh': '#!/bin/sh\necho hi\n', 'lib/data.bin': binary, 'empty.txt': '', 'näme ünicode.txt': 'ü' });
    await mkdir(path.join(dir, 'outputs'));
    await chmod(path.join(dir, 'run.sh'), 0o755);
    await symlink('lib/data.bin', path.join(dir, 'data-link'));
    const packed = await packWorkdir(dir, { maxBytes: BIG });
    expect(packed).toMatchObject({ files: 5, bytes: binary.length + Buffer.byteLength('#!/bin/sh\necho hi\n') + Buffer.byteLength('ü') });

    const out = path.join(tmp, 'job');
    expect(await unpackWorkdir(packed.archive, out)).toEqual({ files: 5 });
    expect(await readFile(path.join(out, 'lib/data.bin'))).toEqual(binary);
    expect(await readFile(path.join(out, 'run.sh'), 'utf8')).toBe('#!/bin/sh\necho hi\n');
    expect(await readFile(path.join(out, 'empty.txt'), 'utf8')).toBe('');
    expect(await readFile(path.join(out, 'näme ünicode.txt'), 'utf8')).toBe('ü');
    expect(await readFile(path.join(out, 'data-link'))).toEqual(binary);
    expect((await stat(path.join(out, 'outputs'))).isDirectory()).toBe(true);
    expect((await stat(path.join(out, 'run.sh'))).mode & 0o111).not.toBe(0);
    expect((await stat(path.join(out, 'empty.txt'))).mode & 0o111).toBe(0);
  });

  it('round-trips paths longer than 100 bytes (ustar prefix) and 255 bytes (PAX), also from a file on disk', async () => {
    const dir = path.join(tmp, 'w');
    const medium = `${'m'.repeat(60)}/${'n'.repeat(60)}/file-${'x'.repeat(40)}.txt`;
    const long = `${Array.from({ length: 6 }, (_, i) => `${i}${'d'.repeat(48)}`).join('/')}/${'f'.repeat(120)}.txt`;
    expect(medium.length).toBeGreaterThan(100);
    expect(long.length).toBeGreaterThan(255);
    await tree(dir, { [medium]: 'medium', [long]: 'long' });
    const packed = await packWorkdir(dir, { maxBytes: BIG });
    const file = path.join(tmp, 'snapshot.tar.gz');
    await writeFile(file, packed.archive);
    const out = path.join(tmp, 'job');
    await unpackWorkdir(file, out);
    expect(await readFile(path.join(out, medium), 'utf8')).toBe('medium');
    expect(await readFile(path.join(out, long), 'utf8')).toBe('long');
  });
});

describe('interoperability with system tar', () => {
  it('lets `tar -tzf` list and `tar -xzf` extract the archive', async () => {
    const dir = path.join(tmp, 'w');
    const long = `${'a'.repeat(90)}/${'b'.repeat(90)}/${'c'.repeat(90)}/${'d'.repeat(120)}.txt`;
    await tree(dir, { 'train.py': 'print(1)\n', 'src/model.py': 'm', [long]: 'deep' });
    await chmod(path.join(dir, 'train.py'), 0o755);
    const archive = path.join(tmp, 'w.tar.gz');
    await writeFile(archive, (await packWorkdir(dir, { maxBytes: BIG })).archive);
    const listed = execFileSync('tar', ['-tzf', archive], { encoding: 'utf8' }).trim().split('\n');
    expect(listed).toEqual(expect.arrayContaining(['train.py', 'src/', 'src/model.py', long]));
    const out = path.join(tmp, 'x');
    await mkdir(out);
    execFileSync('tar', ['-xzf', archive, '-C', out]);
    expect(await readFile(path.join(out, long), 'utf8')).toBe('deep');
    expect((await stat(path.join(out, 'train.py'))).mode & 0o100).not.toBe(0);
  });

  it('unpacks what system tar writes, including ./ prefixes and long names', async () => {
    const dir = path.join(tmp, 'w');
    const long = `${'q'.repeat(150)}/${'r'.repeat(150)}.txt`;
    await tree(dir, { 'a.txt': 'A', [long]: 'L' });
    const archive = path.join(tmp, 'sys.tar.gz');
    execFileSync('tar', ['-czf', archive, '-C', dir, '.']);
    const out = path.join(tmp, 'job');
    expect(await unpackWorkdir(archive, out)).toEqual({ files: 2 });
    expect(await readFile(path.join(out, long), 'utf8')).toBe('L');
  });
});
