// Paths looked up inside an image's root by hand: absolute links start again at the image's root,
// `..` stops at it, loops end, and a link to a host path outside the image is never followed.

import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isExecutableInRoot, resolveInRoot } from './image-files.js';

const root = mkdtempSync(join(tmpdir(), 'stint-imgroot-'));
const host = mkdtempSync(join(tmpdir(), 'stint-hostside-'));
afterAll(() => [root, host].forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('resolveInRoot', () => {
  it('resolves links against the image root, never the host', () => {
    mkdirSync(join(root, 'usr/bin'), { recursive: true });
    writeFileSync(join(root, 'usr/bin/bash'), '', { mode: 0o755 });
    symlinkSync('/usr/bin', join(root, 'bin'));
    expect(resolveInRoot(root, '/bin/bash')).toBe('usr/bin/bash');
    expect(isExecutableInRoot(root, '/bin/bash')).toBe(true);
    writeFileSync(join(host, 'sh'), '', { mode: 0o755 });
    symlinkSync(join(host, 'sh'), join(root, 'usr/bin/sh'));
    expect(isExecutableInRoot(root, '/bin/sh')).toBe(false);
    symlinkSync('../../../../../..' + join(host, 'sh'), join(root, 'usr/bin/up'));
    expect(isExecutableInRoot(root, '/bin/up')).toBe(false);
    symlinkSync('loop2', join(root, 'usr/bin/loop1'));
    symlinkSync('loop1', join(root, 'usr/bin/loop2'));
    expect(resolveInRoot(root, '/bin/loop1')).toBeNull();
    writeFileSync(join(root, 'usr/bin/plain'), '', { mode: 0o644 });
    expect(isExecutableInRoot(root, '/bin/plain')).toBe(false);
  });
});
