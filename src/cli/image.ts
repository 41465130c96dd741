// `stint image import|list|rm`: container images on the server's machine. `import` streams a file
// (tar or tar.gz: an OCI archive, a docker/podman archive, a rootfs tarball) or a directory (an OCI
// layout, sent as a tar made by the system's `tar` as the caller) to the server, which says what it
// got and stores it in podman under a stint name; tasks run it with `image_id: stint:<name>`.

import { spawn } from 'node:child_process';
import { openAsBlob, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { Readable } from 'node:stream';
import type { Command } from 'commander';
import { connect } from '../api/client.js';
import type { ImageView } from '../api/image-schemas.js';
import { clientConfig } from '../config.js';
import { StintError } from '../core/errors.js';
import { formatBytes } from '../workdir/pack.js';
import { paint, relativeTime, table, type Style } from './format.js';

export function registerImage(program: Command): void {
  const image = program.command('image').description('import, list and remove container images (tasks run them as image_id: stint:<name>)');
  image
    .command('import')
    .description('import an image from FILE (OCI archive, docker/podman archive, rootfs tarball; tar or tar.gz) or DIR (an OCI layout)')
    .argument('<path>', 'the archive file or OCI layout directory')
    .option('--name <name>', 'the image name (default: the archive\'s own tag, else the file name)')
    .option('--json', 'print the imported image as JSON')
    .action(async (path: string, flags: { name?: string; json?: boolean }) => {
      const client = connect(clientConfig());
      const full = resolve(path);
      const info = statOrThrow(full, path);
      const fileName = basename(full);
      const imported = info.isDirectory()
        ? await sendDirectory(full, (body) => client.importImage(body, { name: flags.name, fileName }))
        : await client.importImage(await openAsBlob(full), { name: flags.name, fileName });
      if (flags.json) return void process.stdout.write(JSON.stringify(imported, null, 2) + '\n');
      process.stdout.write(`imported ${imported.name} (${imported.source}, ${formatBytes(imported.sizeBytes)}, ${shortDigest(imported.digest)}); run it with image_id: stint:${imported.name}\n`);
    });
  image
    .command('list')
    .description('list imported images')
    .option('--json', 'print the images as a JSON array')
    .action(async (flags: { json?: boolean }) => {
      const config = clientConfig();
      const { images } = await connect(config).listImages();
      if (flags.json) return void process.stdout.write(JSON.stringify(images, null, 2) + '\n');
      process.stdout.write(renderImages(images, { color: config.color }, Date.now()) + '\n');
    });
  image
    .command('rm')
    .description('remove an imported image (its importer or an admin)')
    .argument('<name>', 'the image name')
    .action(async (name: string) => {
      const removed = await connect(clientConfig()).removeImage(name);
      process.stdout.write(`removed ${removed.name}\n`);
    });
}

export function renderImages(images: readonly ImageView[], style: Style, now: number): string {
  if (images.length === 0) return 'no images imported (stint image import FILE|DIR [--name NAME])';
  const rows = images.map((i) => [
    i.name,
    shortDigest(i.digest),
    formatBytes(i.sizeBytes),
    i.owner,
    relativeTime(i.createdAt, now),
    i.present ? i.source : paint(style, 'red', 'missing from podman (import it again)'),
  ]);
  return table(['NAME', 'DIGEST', 'SIZE', 'OWNER', 'CREATED', 'SOURCE'], rows, style);
}

function shortDigest(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}

function statOrThrow(full: string, shown: string) {
  try {
    return statSync(full);
  } catch {
    throw new StintError('INVALID_REQUEST', `${shown}: no such file or directory; give an image archive or an OCI layout directory`, { field: 'path', value: shown });
  }
}

/** Tars the directory with the system's tar (as the caller) and streams it while it is written. */
export async function sendDirectory<T>(dir: string, send: (body: ReadableStream<Uint8Array>) => Promise<T>): Promise<T> {
  const tar = spawn('tar', ['-C', dir, '-cf', '-', '.'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  tar.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number>((done) => tar.on('close', (code) => done(code ?? 1)));
  const answer = await send(Readable.toWeb(tar.stdout) as ReadableStream<Uint8Array>).catch(async (error: unknown) => {
    tar.kill();
    throw error;
  });
  if ((await exited) !== 0) throw new StintError('INVALID_REQUEST', `tar of ${dir} failed: ${stderr.trim().split('\n').pop() ?? ''}`, { field: 'path', value: dir });
  return answer;
}
