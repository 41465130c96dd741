// Container images against a real server and the real podman of this machine: import of a rootfs
// tarball, a docker archive and an OCI layout directory (made with podman save), the listing with
// digests and a reconciliation with podman's storage, the ownership rules (another member's rm,
// a viewer's import), refusals (garbage, an oversize upload, a missing stint: image at submit, an
// unreachable docker: ref at submit), and that an archive's own tags never move a local name.

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StintClient } from '../src/api/client.js';
import { Command } from 'commander';
import { registerImage, sendDirectory } from '../src/cli/image.js';
import { serverConfig } from '../src/config.js';
import { StintError } from '../src/core/errors.js';
import { ImageService } from '../src/containers/images.js';
import { Podman } from '../src/containers/podman.js';
import { startServer, type RunningServer } from '../src/server/start.js';
import { tempHome } from './helpers/server.js';

const RUN = randomBytes(3).toString('hex');
const work = mkdtempSync(join(tmpdir(), 'stint-images-'));
const podman = (...args: string[]) => execFileSync('podman', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
const idOf = (ref: string) => podman('image', 'inspect', '--format', '{{.Id}}', ref);
let server: RunningServer;
let home: string;
let admin: StintClient;
let alice: StintClient;
let bob: StintClient;
let viewer: StintClient;
const made: string[] = [];

/** A busybox-static root filesystem tarball; `extra` makes its content (and digest) differ. */
function rootfsTar(label: string, extra: string): string {
  const root = join(work, `rootfs-${label}`);
  mkdirSync(join(root, 'bin'), { recursive: true });
  copyFileSync('/bin/busybox', join(root, 'bin', 'busybox'));
  symlinkSync('busybox', join(root, 'bin', 'sh'));
  writeFileSync(join(root, 'label'), extra);
  const file = join(work, `${label}.tar`);
  execFileSync('tar', ['-C', root, '-cf', file, '.']);
  return file;
}

async function refusal(promise: Promise<unknown>): Promise<StintError> {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(StintError);
  return error as StintError;
}

const task = (image: string) => `name: img\nresources:\n  image_id: ${image}\nrun: echo hi\n`;

beforeAll(async () => {
  home = await tempHome();
  server = await startServer(serverConfig({ allowRootJobs: true, home, port: '0', gpus: 'A100:2', maxImageMb: '16' }));
  admin = new StintClient(server.url, readFileSync(join(home, 'token'), 'utf8').trim());
  const add = async (name: string, role: 'member' | 'viewer') => new StintClient(server.url, (await admin.addUser(name, role)).token);
  alice = await add('alice', 'member');
  bob = await add('bob', 'member');
  viewer = await add('vera', 'viewer');
}, 60_000);

afterAll(async () => {
  await server?.stop();
  for (const ref of made) execFileSync('podman', ['rmi', '--force', ref], { stdio: 'ignore' });
  rmSync(work, { recursive: true, force: true });
});

describe('stint image import', () => {
  it('imports a rootfs tarball under --name, lists it with its digest, and resolves stint:<name>', async () => {
    const file = rootfsTar('plain', `plain ${RUN}`);
    const name = `h5t-${RUN}/plain`;
    made.push(`localhost/stint/${name}:latest`);
    const image = await alice.importImage(readFileSync(file), { name });
    expect(image).toMatchObject({ name: `${name}:latest`, owner: 'alice', source: 'rootfs', present: true });
    expect(image.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const { images } = await bob.listImages();
    expect(images.find((i) => i.name === `${name}:latest`)).toMatchObject({ digest: image.digest, owner: 'alice', present: true });
    expect(podman('image', 'inspect', '--format', '{{.Id}}', `localhost/stint/${name}:latest`)).toBe(image.imageId.replace(/^sha256:/, ''));
    // The handle the container engine resolves stint:<name> with, and an unknown name.
    const service = new ImageService({ store: server.store.images, podman: () => Podman.detect({ home }), clock: { now: () => Date.now() }, isAdmin: async () => false, tempDir: work });
    expect(await service.resolveStintImage(name)).toEqual({ imageId: image.imageId });
    expect(await service.resolveStintImage(`nothing-${RUN}`)).toBeNull();
    expect(await service.resolveImage(`stint:${name}`, { id: null, name: 'anyone' })).toEqual({ ref: image.imageId, digest: image.digest });
  });

  it('imports a gzipped rootfs named after its file', async () => {
    const file = rootfsTar(`gz-${RUN}`, 'gz');
    execFileSync('gzip', ['-k', file]);
    made.push(`localhost/stint/gz-${RUN}:latest`);
    const image = await alice.importImage(readFileSync(`${file}.gz`), { fileName: `gz-${RUN}.tar.gz` });
    expect(image).toMatchObject({ name: `gz-${RUN}:latest`, source: 'rootfs' });
  });

  it('imports a docker archive by its own tag, and leaves a local image of that tag as it was', async () => {
    const victim = `docker.io/library/h5victim-${RUN}:1`;
    made.push(victim, `localhost/stint/h5victim-${RUN}:1`);
    podman('import', rootfsTar('victim', `victim ${RUN}`), victim);
    const before = idOf(victim);
    // Another image carrying the same tag, saved as a docker archive.
    const other = `localhost/h5other-${RUN}:1`;
    made.push(other);
    podman('import', rootfsTar('other', `other ${RUN}`), other);
    podman('tag', other, `localhost/h5carrier-${RUN}:1`);
    made.push(`localhost/h5carrier-${RUN}:1`);
    const archive = join(work, 'docker.tar');
    podman('tag', other, victim);
    podman('save', '--format', 'docker-archive', '-o', archive, victim);
    podman('tag', before, victim); // the victim tag back where it was before the archive is loaded
    expect(idOf(victim)).toBe(before);
    const image = await bob.importImage(readFileSync(archive), { fileName: 'docker.tar' });
    expect(image).toMatchObject({ name: `h5victim-${RUN}:1`, owner: 'bob', source: 'docker-archive', present: true });
    expect(image.imageId).toBe(`sha256:${idOf(other)}`);
    expect(idOf(victim)).toBe(before);
  });

  // Red team H1 (issue 12): podman load applied every RepoTag of an archive, then the import
  // failed on "2 names" before it undid them, leaving registry names on the uploader's image.
  it('never moves a name of another image, whatever an archive lists in RepoTags (attack H1)', async () => {
    const victim = `docker.io/library/h7ubuntu-${RUN}:22.04`;
    const second = `docker.io/library/h7python-${RUN}:3.11`;
    made.push(victim, `localhost/stint/mine-${RUN}:latest`);
    podman('import', rootfsTar('h1-victim', `h1 victim ${RUN}`), victim);
    const before = idOf(victim);
    const evil = `localhost/h7evil-${RUN}:1`;
    made.push(evil);
    podman('import', rootfsTar('h1-evil', `h1 evil ${RUN}`), evil);
    const unpacked = join(work, 'h1-archive');
    mkdirSync(unpacked);
    podman('save', '--format', 'docker-archive', '-o', join(work, 'h1-saved.tar'), evil);
    execFileSync('tar', ['-C', unpacked, '-xf', join(work, 'h1-saved.tar')]);
    const manifest = JSON.parse(readFileSync(join(unpacked, 'manifest.json'), 'utf8')) as Array<{ RepoTags?: string[] }>;
    manifest[0]!.RepoTags = [victim, second];
    writeFileSync(join(unpacked, 'manifest.json'), JSON.stringify(manifest));
    const archive = join(work, 'h1.tar');
    execFileSync('tar', ['-C', unpacked, '-cf', archive, '.']);
    const result = await bob.importImage(readFileSync(archive), { name: `mine-${RUN}` }).catch((e: unknown) => e);
    expect(idOf(victim)).toBe(before);
    expect(() => idOf(second)).toThrow();
    const service = new ImageService({ store: server.store.images, podman: () => Podman.detect({ home }), clock: { now: () => Date.now() }, isAdmin: async () => false, tempDir: work });
    expect((await service.resolveImage(`docker:h7ubuntu-${RUN}:22.04`, { id: 999, name: 'carol' })).ref).toBe(`sha256:${before}`);
    // The import itself succeeds under its stint name only.
    expect(result).toMatchObject({ name: `mine-${RUN}:latest`, owner: 'bob', source: 'docker-archive' });
    expect(podman('image', 'inspect', '--format', '{{.RepoTags}}', evil)).not.toContain('h7ubuntu');
  });

  it('refuses an archive with two manifest.json entries (which one podman reads is not ours to guess)', async () => {
    const dir = join(work, 'dup');
    mkdirSync(join(dir, 'a'), { recursive: true });
    mkdirSync(join(dir, 'b'));
    writeFileSync(join(dir, 'a', 'manifest.json'), JSON.stringify([{ Config: 'c.json', Layers: ['l.tar'] }]));
    writeFileSync(join(dir, 'b', 'manifest.json'), JSON.stringify([{ Config: 'd.json', Layers: ['l.tar'], RepoTags: ['docker.io/library/x:1'] }]));
    const archive = join(work, 'dup.tar');
    execFileSync('tar', ['-C', join(dir, 'a'), '-cf', archive, 'manifest.json']);
    execFileSync('tar', ['-C', join(dir, 'b'), '-rf', archive, './manifest.json']);
    const error = await refusal(alice.importImage(readFileSync(archive), { name: `dup-${RUN}` }));
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.message).toMatch(/manifest\.json.*more than once/);
  });

  // Red team M2: --max-image-mb capped the compressed body only; a small .tar.gz became a huge file.
  it('refuses a small gzip whose content is over the server limit, naming the limit, and keeps no file', async () => {
    const dir = join(work, 'bomb');
    mkdirSync(dir);
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify([{ Config: 'c.json', Layers: ['layer.tar'] }]));
    execFileSync('truncate', ['-s', '40M', join(dir, 'layer.tar')]);
    const archive = join(work, 'bomb.tar.gz');
    execFileSync('tar', ['-C', dir, '-czf', archive, 'manifest.json', 'layer.tar']);
    const body = readFileSync(archive);
    expect(body.length).toBeLessThan(1024 * 1024);
    const error = await refusal(alice.importImage(body, { name: `bomb-${RUN}` }));
    expect(error.code).toBe('BODY_TOO_LARGE');
    expect(error.message).toMatch(/limit of 16\.0 MiB/);
    expect(readdirSync(join(home, 'image-uploads'))).toEqual([]);
  });

  it('imports an OCI layout directory (podman save --format oci-dir) streamed as a tar', async () => {
    const source = `localhost/h5oci-${RUN}:1`;
    made.push(source, `localhost/stint/oci-${RUN}:1`);
    podman('import', rootfsTar('oci', `oci ${RUN}`), source);
    const dir = join(work, 'layout');
    podman('save', '--format', 'oci-dir', '-o', dir, source);
    const image = await sendDirectory(dir, (body) => alice.importImage(body, { name: `oci-${RUN}:1`, fileName: 'layout' }));
    expect(image).toMatchObject({ name: `oci-${RUN}:1`, source: 'oci-archive', present: true });
    expect(image.imageId).toBe(`sha256:${idOf(source)}`);
  });

  it('refuses a garbage file with the reason and what is accepted', async () => {
    const error = await refusal(alice.importImage(randomBytes(4096), { fileName: 'junk.bin' }));
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.message).toMatch(/not a readable tar archive/);
    expect(error.message).toMatch(/accepted: an OCI layout/);
  });

  it('refuses an invalid --name naming the field and the rule', async () => {
    const error = await refusal(alice.importImage(readFileSync(rootfsTar('badname', 'x')), { name: 'Bad Name!' }));
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.details).toMatchObject({ field: 'name', value: 'Bad Name!' });
  });

  it('refuses an upload over the server limit with 413 naming the limit', async () => {
    const error = await refusal(alice.importImage(Buffer.alloc(17 * 1024 * 1024), { fileName: 'big.tar' }));
    expect(error.code).toBe('BODY_TOO_LARGE');
    expect(error.message).toMatch(/limit of 16\.0 MiB/);
  });

  it('refuses a streamed (chunked) upload once it passes the limit, and keeps no partial file', async () => {
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 17 * 1024 * 1024) return controller.close();
        sent += 1024 * 1024;
        controller.enqueue(new Uint8Array(1024 * 1024));
      },
    });
    const error = await refusal(alice.importImage(body, { fileName: 'big.tar' }));
    expect(error.code).toBe('BODY_TOO_LARGE');
    expect(readdirSync(join(home, 'image-uploads'))).toEqual([]);
  });

  it('receives at most two imports at once (429 with Retry-After for a third)', async () => {
    const held: Array<ReadableStreamDefaultController<Uint8Array>> = [];
    const slow = () => new ReadableStream<Uint8Array>({ start(controller) { held.push(controller); controller.enqueue(new Uint8Array(64 * 1024)); } });
    const first = alice.importImage(slow(), { fileName: 'a.tar' }).catch((e: unknown) => e);
    const second = alice.importImage(slow(), { fileName: 'b.tar' }).catch((e: unknown) => e);
    // Both bodies are being received once the server has written their first bytes.
    const deadline = Date.now() + 10_000;
    const receiving = () => (existsSync(join(home, 'image-uploads')) ? readdirSync(join(home, 'image-uploads')).length : 0);
    while (receiving() < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const third = await refusal(bob.importImage(Buffer.from('x'), { fileName: 'c.tar' }));
    expect(third.code).toBe('RATE_LIMITED');
    expect(third.details.retryAfterSeconds).toBe(30);
    for (const controller of held) controller.close();
    // The held bodies were not archives: each is refused once it ends.
    expect(((await first) as StintError).code).toBe('INVALID_REQUEST');
    expect(((await second) as StintError).code).toBe('INVALID_REQUEST');
  });

  it('refuses a viewer before reading the body', async () => {
    const error = await refusal(viewer.importImage(Buffer.from('x'), { fileName: 'x.tar' }));
    expect(error.code).toBe('FORBIDDEN');
  });
});

describe('ownership', () => {
  it('lets only the importer or an admin replace or remove a name', async () => {
    const name = `owned-${RUN}`;
    made.push(`localhost/stint/${name}:latest`);
    await alice.importImage(readFileSync(rootfsTar('owned', 'owned')), { name });
    const replace = await refusal(bob.importImage(readFileSync(rootfsTar('owned2', 'owned2')), { name }));
    expect(replace.code).toBe('FORBIDDEN');
    expect(replace.details.rule).toBe('images.owner-or-admin');
    const remove = await refusal(bob.removeImage(name));
    expect(remove.code).toBe('FORBIDDEN');
    expect(remove.message).toMatch(/belongs to alice/);
    await admin.removeImage(name);
    expect((await alice.listImages()).images.some((i) => i.name === `${name}:latest`)).toBe(false);
    expect(() => idOf(`localhost/stint/${name}:latest`)).toThrow();
  });

  it('replaces a name for its importer and removes the image it stood for before', async () => {
    const name = `again-${RUN}`;
    made.push(`localhost/stint/${name}:latest`);
    const first = await alice.importImage(readFileSync(rootfsTar('again1', `again1 ${RUN}`)), { name });
    const second = await alice.importImage(readFileSync(rootfsTar('again2', `again2 ${RUN}`)), { name });
    expect(second.imageId).not.toBe(first.imageId);
    expect(second.owner).toBe('alice');
    expect(() => idOf(first.imageId)).toThrow();
  });

  it('shows an image removed behind stint\'s back as missing', async () => {
    const name = `gone-${RUN}`;
    await alice.importImage(readFileSync(rootfsTar('gone', `gone ${RUN}`)), { name });
    podman('rmi', `localhost/stint/${name}:latest`);
    const listed = (await alice.listImages()).images.find((i) => i.name === `${name}:latest`);
    expect(listed?.present).toBe(false);
  });
});

describe('submit-time check', () => {
  it('matches docker:<name> to an imported image only for its importer (or an admin\'s import)', async () => {
    const name = `shadow-${RUN}:1`;
    made.push(`localhost/stint/${name}`);
    await alice.importImage(readFileSync(rootfsTar('shadow', `shadow ${RUN}`)), { name });
    // podman itself would match the short name against localhost/stint/<name>: stint must not.
    expect(idOf(name)).toBe(idOf(`localhost/stint/${name}`));
    const refused = await refusal(bob.submit({ task: task(`docker:${name}`) }));
    expect(refused.code).toBe('IMAGE_NOT_FOUND');
    const accepted = await alice.submit({ task: task(`docker:${name}`) });
    expect(accepted.id).not.toBeNull();
    await alice.cancel(accepted.id!);
  });

  it('refuses stint:missing at submit with 400 naming resources.image_id', async () => {
    const error = await refusal(alice.submit({ task: task(`stint:missing-${RUN}`) }));
    expect(error.code).toBe('IMAGE_NOT_FOUND');
    expect(error.details.field).toBe('resources.image_id');
    expect(error.message).toMatch(/stint image import/);
  });

  it('refuses a docker: ref that is neither local nor pullable (no registry here), at once', async () => {
    const error = await refusal(alice.submit({ task: task(`docker:h5-not-here-${RUN}:1`) }));
    expect(error.code).toBe('IMAGE_NOT_FOUND');
    expect(error.message).toMatch(new RegExp(`docker.io/library/h5-not-here-${RUN}:1 .*is not on this machine and no registry`));
  });
});

describe('prepared at the head of the queue', () => {
  it('pulls the docker: image of a job waiting for GPUs before they free up (here: the pull fails, offline, and is logged)', async () => {
    const ref = `docker.io/library/h5prep-${RUN}:1`;
    made.push(ref);
    podman('import', rootfsTar('prep', `prep ${RUN}`), ref);
    const hog = await alice.submit({ task: 'name: hog\nresources:\n  accelerators: A100:2\nrun: sleep 600\n' });
    // Three jobs ahead of it: the image job is 4th in the queue, beyond the 3 that are prepared.
    const ahead = [];
    for (let i = 0; i < 3; i++) ahead.push(await alice.submit({ task: 'name: ahead\nresources:\n  accelerators: A100:1\nrun: echo hi\n' }));
    const waiting = await alice.submit({ task: `name: waits\nresources:\n  accelerators: A100:1\n  image_id: docker:${ref}\nrun: echo hi\n` });
    try {
      // Accepted while local, then removed behind stint's back; once the jobs ahead go, the
      // preparer finds it missing and pulls it (and fails: no registry here).
      podman('rmi', ref);
      for (const job of ahead) await alice.cancel(job.id!);
      const log = join(home, 'server.log');
      const deadline = Date.now() + 20_000;
      let text = '';
      while (!text.includes(`docker:${ref}`) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        text = readFileSync(log, 'utf8');
      }
      const line = text.split('\n').find((l) => l.includes(`docker:${ref}`)) ?? '';
      expect(line).toMatch(/could not prepare an image for a waiting job/);
      expect(line).toMatch(new RegExp(`pulling ${ref.replace(/\./g, '\\.')} failed`));
      expect((await alice.getJob(waiting.id!)).state).toBe('PENDING');
    } finally {
      await alice.cancel(waiting.id!);
      await alice.cancel(hog.id!);
    }
  });
});

describe('the stint image command', () => {
  /** Runs `stint image ARGS` in this process against the test server as `token`; its stdout. */
  async function cli(token: string, ...args: string[]): Promise<string> {
    const program = new Command('stint').exitOverride();
    registerImage(program);
    const saved = { url: process.env.STINT_URL, token: process.env.STINT_TOKEN, write: process.stdout.write };
    let out = '';
    process.env.STINT_URL = server.url;
    process.env.STINT_TOKEN = token;
    process.stdout.write = ((chunk: string | Uint8Array) => ((out += String(chunk)), true)) as typeof process.stdout.write;
    try {
      await program.parseAsync(['node', 'stint', 'image', ...args]);
    } finally {
      process.stdout.write = saved.write;
      if (saved.url === undefined) delete process.env.STINT_URL; else process.env.STINT_URL = saved.url;
      if (saved.token === undefined) delete process.env.STINT_TOKEN; else process.env.STINT_TOKEN = saved.token;
    }
    return out;
  }

  it('imports a file and an OCI directory, lists them with short digests and owners, removes one', async () => {
    const token = readFileSync(join(home, 'token'), 'utf8').trim();
    const file = rootfsTar(`cli-${RUN}`, `cli ${RUN}`);
    made.push(`localhost/stint/cli-${RUN}:latest`, `localhost/stint/cli-oci-${RUN}:2`);
    expect(await cli(token, 'import', file)).toMatch(new RegExp(`imported cli-${RUN}:latest \\(rootfs, .*\\); run it with image_id: stint:cli-${RUN}:latest`));
    const source = `localhost/h5cli-${RUN}:2`;
    made.push(source);
    podman('import', rootfsTar(`cli-oci-src-${RUN}`, `cli oci ${RUN}`), source);
    const layout = join(work, 'cli-layout');
    podman('save', '--format', 'oci-dir', '-o', layout, source);
    expect(await cli(token, 'import', layout, '--name', `cli-oci-${RUN}:2`)).toMatch(/oci-archive/);
    const listing = await cli(token, 'list');
    const line = listing.split('\n').find((l) => l.startsWith(`cli-${RUN}:latest`));
    expect(line).toMatch(/\b[0-9a-f]{12}\b.*root/);
    expect(await cli(token, 'rm', `cli-${RUN}`)).toBe(`removed cli-${RUN}:latest\n`);
    expect(await cli(token, 'list')).not.toContain(`cli-${RUN}:latest`);
  });
});
