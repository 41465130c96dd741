// Looks a path up inside an image's mounted root filesystem the way the container will see it,
// without running anything of the image: each component is lstat'ed and each symbolic link is
// resolved by hand against the image's root (an absolute target starts again at the image's root,
// `..` never climbs above it). Must hold: no link is ever followed by the kernel, so nothing
// outside `root` is reached however the image's links point; a bounded number of links is followed.

import { lstatSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

const MAX_LINKS = 40;

/** Whether `path` (absolute inside the image) names a regular file with an execute bit, seen from the image's `root`. */
export function isExecutableInRoot(root: string, path: string): boolean {
  const found = resolveInRoot(root, path);
  if (found === null) return false;
  const stat = lstatSync(join(root, found), { throwIfNoEntry: false });
  return stat !== undefined && stat.isFile() && (stat.mode & 0o111) !== 0;
}

/** The path relative to `root` that `path` leads to, every link resolved inside the image; null when a component is missing or links loop. */
export function resolveInRoot(root: string, path: string): string | null {
  const done: string[] = [];
  const left = split(path);
  let links = 0;
  while (left.length > 0) {
    const part = left.shift()!;
    if (part === '..') {
      done.pop();
      continue;
    }
    const here = join(root, ...done, part);
    const stat = lstatSync(here, { throwIfNoEntry: false });
    if (stat === undefined) return null;
    if (!stat.isSymbolicLink()) {
      if (left.length > 0 && !stat.isDirectory()) return null;
      done.push(part);
      continue;
    }
    if (++links > MAX_LINKS) return null;
    const target = readlinkSync(here);
    if (target.startsWith('/')) done.length = 0;
    left.unshift(...split(target));
  }
  return done.join('/');
}

function split(path: string): string[] {
  return path.split('/').filter((part) => part !== '' && part !== '.');
}
