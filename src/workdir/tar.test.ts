import { describe, expect, it } from 'vitest';
import { BLOCK, readTar, TarWriter } from './tar.js';

function roundTrip(write: (tar: TarWriter) => void) {
  const tar = new TarWriter();
  write(tar);
  const bytes = tar.finish();
  expect(bytes.length % BLOCK).toBe(0);
  return [...readTar(bytes)];
}

describe('ustar writer and reader', () => {
  it('keeps mode, mtime, size and a long link target (PAX linkpath)', () => {
    const target = `${'t'.repeat(70)}/${'u'.repeat(70)}`;
    const [file, link] = roundTrip((tar) => {
      tar.file('bin/run', 0o755, 1_700_000_000, Buffer.from('#!/bin/sh\n'));
      tar.symlink('link', target, 1_700_000_001);
    });
    expect(file?.entry).toMatchObject({ path: 'bin/run', type: 'file', mode: 0o755, size: 10, mtime: 1_700_000_000 });
    expect(file?.data.toString()).toBe('#!/bin/sh\n');
    expect(link?.entry).toMatchObject({ path: 'link', type: 'symlink', linkTarget: target });
  });

  it('stores multi-byte names by their byte length, using PAX when they do not fit', () => {
    const name = `${'ü'.repeat(60)}.txt`;
    expect(name.length).toBeLessThan(100);
    expect(Buffer.byteLength(name)).toBeGreaterThan(100);
    const [entry] = roundTrip((tar) => tar.file(name, 0o644, 0, Buffer.from('x')));
    expect(entry?.entry.path).toBe(name);
  });

  it('writes PAX records whose length prefix counts itself, across a digit boundary', () => {
    for (const length of [88, 89, 90, 95, 96, 97, 990, 995]) {
      const name = 'p'.repeat(length).replace(/(.{50})/g, '$1/').replace(/\/$/, '') + 'q'.repeat(120);
      const [entry] = roundTrip((tar) => tar.directory(name, 0o755, 0));
      expect(entry?.entry).toMatchObject({ path: name, type: 'directory' });
    }
  });
});
