// Owns the rules for which paths and symlink targets a workdir snapshot may hold, shared by the
// packer (what it keeps) and the unpacker (what it accepts), so the two can never disagree.
// Invariants: an entry path is relative, has no `.`/`..`/empty segments and no NUL; a link target
// is relative, has no NUL, and climbs (`..`) only at its start — so once it descends it cannot
// climb back through a symlink — and, resolved from the link's directory, stays inside the root.

import path from 'node:path';

/** `a/b/c.txt` yes; `/etc/passwd`, `../x`, `a/../b`, `a//b`, `./a`, `C:\x` no. */
export function isSafeEntryPath(entryPath: string): boolean {
  if (entryPath === '' || entryPath.includes('\0') || entryPath.includes('\\')) return false;
  if (entryPath.startsWith('/') || /^[A-Za-z]:/.test(entryPath)) return false;
  return entryPath.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..');
}

/** The target's shape alone: relative, no NUL, `..` only as a leading run. */
export function isSafeLinkShape(target: string): boolean {
  if (target === '' || target.includes('\0') || target.includes('\\')) return false;
  if (target.startsWith('/') || /^[A-Za-z]:/.test(target)) return false;
  let descended = false;
  for (const segment of target.split('/')) {
    if (segment === '..') {
      if (descended) return false;
    } else if (segment !== '' && segment !== '.') {
      descended = true;
    }
  }
  return true;
}

/** True when `child` is `root` itself or lies below it (both absolute, already resolved). */
export function isInside(root: string, child: string): boolean {
  const relative = path.relative(root, child);
  if (relative === '') return true;
  return relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative);
}

/**
 * Whether a symlink whose real parent directory is `linkDir` may point at `target` within `root`
 * (both absolute real paths).
 */
export function isSafeLink(root: string, linkDir: string, target: string): boolean {
  return isSafeLinkShape(target) && isInside(root, path.resolve(linkDir, target));
}
