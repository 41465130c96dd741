// Telling archives apart: an OCI archive, a docker archive, a rootfs tarball (plain or gzip), and
// refusals of what is none of them (garbage, other compressions, several images, an empty tar).

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { TarWriter } from '../workdir/tar.js';
import { classifyArchive } from './image-archive.js';

const dir = mkdtempSync(join(tmpdir(), 'stint-archive-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function tar(files: Record<string, string>, gzip = false): string {
  const writer = new TarWriter();
  for (const [path, text] of Object.entries(files)) writer.file(path, 0o644, 0, Buffer.from(text));
  const body = writer.finish();
  const file = join(dir, `${Math.random().toString(36).slice(2)}.tar`);
  writeFileSync(file, gzip ? gzipSync(body) : body);
  return file;
}

const ociIndex = (names: string[]) => JSON.stringify({ schemaVersion: 2, manifests: names.map((n) => ({ digest: 'sha256:1', annotations: { 'org.opencontainers.image.ref.name': n } })) });

describe('classifyArchive', () => {
  it('finds an OCI archive and its ref name', async () => {
    expect(await classifyArchive(tar({ 'oci-layout': '{}', 'index.json': ociIndex(['localhost/x:1']), 'blobs/sha256/1': 'x' }))).toMatchObject({ source: 'oci-archive', tag: 'localhost/x:1', gzip: false });
  });

  it('finds a docker archive (./-prefixed paths, gzip) and its first tag', async () => {
    const manifest = JSON.stringify([{ Config: 'c.json', RepoTags: ['python:3.11'], Layers: ['l.tar'] }]);
    expect(await classifyArchive(tar({ './manifest.json': manifest, './c.json': '{}' }, true))).toMatchObject({ source: 'docker-archive', tag: 'python:3.11', gzip: true });
  });

  it('takes anything else that is a tar as a root filesystem, a stray manifest.json included', async () => {
    expect(await classifyArchive(tar({ 'bin/sh': 'x', 'manifest.json': '{"not": "docker"}' }))).toMatchObject({ source: 'rootfs', tag: null });
  });

  it('refuses garbage, other compressions, several images and an empty tar with the reason', async () => {
    const garbage = join(dir, 'garbage');
    writeFileSync(garbage, Buffer.alloc(2048, 7));
    await expect(classifyArchive(garbage)).rejects.toThrow(/not a readable tar archive/);
    const xz = join(dir, 'x.xz');
    writeFileSync(xz, Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 1, 2]));
    await expect(classifyArchive(xz)).rejects.toThrow(/xz-compressed/);
    await expect(classifyArchive(tar({ 'oci-layout': '{}', 'index.json': ociIndex(['a', 'b']) }))).rejects.toThrow(/lists 2 images/);
    await expect(classifyArchive(tar({}))).rejects.toThrow(/holds no entries/);
  });
});
