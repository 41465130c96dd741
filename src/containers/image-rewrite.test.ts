// The archive podman loads: the uploader's names gone (docker RepoTags, OCI ref.name annotations,
// the legacy repositories file), every other entry kept byte for byte, and refusals of entries
// that climb out, links that point out, duplicate paths and content over the byte limit.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { readTar, TarWriter } from '../workdir/tar.js';
import { classifyArchive } from './image-archive.js';
import { rewriteArchive } from './image-rewrite.js';

const dir = mkdtempSync(join(tmpdir(), 'stint-rewrite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let seq = 0;

function tar(build: (writer: TarWriter) => void, gzip = false): string {
  const writer = new TarWriter();
  build(writer);
  const file = join(dir, `in-${seq++}.tar`);
  writeFileSync(file, gzip ? gzipSync(writer.finish()) : writer.finish());
  return file;
}

async function rewrite(file: string, maxBytes = 1 << 30): Promise<Map<string, string>> {
  const out = join(dir, `out-${seq++}.tar`);
  await rewriteArchive(file, await classifyArchive(file), out, maxBytes);
  return new Map([...readTar(readFileSync(out))].map(({ entry, data }) => [entry.path, data.toString('utf8')]));
}

const manifest = JSON.stringify([{ Config: 'c.json', Layers: ['l/layer.tar'], RepoTags: ['docker.io/library/ubuntu:22.04', 'python:3.11'] }]);

describe('rewriteArchive', () => {
  it('drops RepoTags and the repositories file, keeps the rest, and decompresses', async () => {
    const out = await rewrite(tar((w) => {
      w.file('./manifest.json', 0o644, 0, Buffer.from(manifest));
      w.file('repositories', 0o644, 0, Buffer.from('{"ubuntu":{"22.04":"x"}}'));
      w.file('c.json', 0o644, 0, Buffer.from('{}'));
      w.directory('l', 0o755, 0);
      w.file('l/layer.tar', 0o644, 0, Buffer.alloc(1500, 7));
      w.symlink('l/again.tar', 'layer.tar', 0);
    }, true));
    expect(JSON.parse(out.get('manifest.json')!)).toEqual([{ Config: 'c.json', Layers: ['l/layer.tar'] }]);
    expect(out.has('repositories')).toBe(false);
    expect(out.get('l/layer.tar')).toBe(Buffer.alloc(1500, 7).toString('utf8'));
    expect([...out.keys()]).toEqual(['manifest.json', 'c.json', 'l', 'l/layer.tar', 'l/again.tar']);
  });

  it('drops the ref.name annotations of an OCI index', async () => {
    const index = { schemaVersion: 2, manifests: [{ digest: 'sha256:1', annotations: { 'org.opencontainers.image.ref.name': 'docker.io/library/ubuntu:22.04', other: 'kept' } }] };
    const out = await rewrite(tar((w) => {
      w.file('oci-layout', 0o644, 0, Buffer.from('{}'));
      w.file('index.json', 0o644, 0, Buffer.from(JSON.stringify(index)));
    }));
    expect(JSON.parse(out.get('index.json')!).manifests[0].annotations).toEqual({ other: 'kept' });
  });

  it('refuses an entry that climbs out, a link out of the archive, a path twice, and too many bytes', async () => {
    const base = (w: TarWriter) => w.file('manifest.json', 0o644, 0, Buffer.from(manifest));
    await expect(rewrite(tar((w) => { base(w); w.file('a/../../x', 0o644, 0, Buffer.from('x')); }))).rejects.toThrow(/not a plain relative path/);
    await expect(rewrite(tar((w) => { base(w); w.symlink('l.tar', '/etc/shadow', 0); }))).rejects.toThrow(/outside the archive/);
    await expect(rewrite(tar((w) => { base(w); w.symlink('l.tar', '../../etc/shadow', 0); }))).rejects.toThrow(/outside the archive/);
    await expect(rewrite(tar((w) => { base(w); w.file('c.json', 0o644, 0, Buffer.from('1')); w.file('./c.json', 0o644, 0, Buffer.from('2')); }))).rejects.toThrow(/c\.json more than once/);
    const big = tar((w) => { base(w); w.file('l.tar', 0o644, 0, Buffer.alloc(64 * 1024)); }, true);
    const error = await rewrite(big, 16 * 1024).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'BODY_TOO_LARGE' });
    expect(() => readFileSync(join(dir, `out-${seq - 1}.tar`))).toThrow();
  });
});

describe('classifyArchive limits', () => {
  it('refuses a gzip whose tar is over the limit, and a metadata file present twice', async () => {
    const bomb = tar((w) => { w.file('manifest.json', 0o644, 0, Buffer.from(manifest)); w.file('l.tar', 0o644, 0, Buffer.alloc(1 << 20)); }, true);
    await expect(classifyArchive(bomb, 64 * 1024)).rejects.toMatchObject({ code: 'BODY_TOO_LARGE', details: { limit: 64 * 1024 } });
    const twice = tar((w) => { w.file('index.json', 0o644, 0, Buffer.from('{}')); w.file('./index.json', 0o644, 0, Buffer.from('{}')); });
    await expect(classifyArchive(twice)).rejects.toThrow(/index\.json more than once/);
  });
});
