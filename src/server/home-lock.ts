// One server per home: an OS file lock on <home>/server.lock, taken before anything else touches
// the home and held for the life of the process. Node has no flock, so the lock is SQLite's own
// fcntl lock: a better-sqlite3 connection to server.lock in EXCLUSIVE locking mode that has
// written once keeps its write lock until it is closed or the process dies (the kernel drops it on
// kill -9, so a crashed server never blocks the next one, unlike a PID file). Invariants: while
// one process holds the lock, another (or the same process again) that asks gets CONFLICT naming
// the holder's PID (read from /proc/locks, since the locked file cannot be read); the lock file is
// 0600. When the database is a symlink to another directory, that directory is locked too, so two
// homes sharing one SQLite file still get one server.

import Database from 'better-sqlite3';
import { chmodSync, existsSync, mkdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { StintError } from '../core/errors.js';

export const LOCK_FILE = 'server.lock';

export interface HomeLock {
  /** Releases the lock (stop); a second call does nothing. */
  release(): void;
}

/** Locks the home (and the real directory of its SQLite database, if elsewhere); CONFLICT if held. */
export function lockHome(home: string, sqlite: boolean): HomeLock {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const dirs = [realpathSync(home)];
  const db = join(home, 'stint.db');
  if (sqlite && existsSync(db)) {
    const dbDir = dirname(realpathSync(db));
    if (!dirs.includes(dbDir)) dirs.push(dbDir);
    // A hard link makes one database file look like two homes' own: no directory lock sees it.
    const links = statSync(db).nlink;
    if (links > 1) {
      throw new StintError('CONFLICT', `${db} has ${links} hard links, so another home may hold the same database and a second server would schedule from it too; give each home its own database file (copy it, do not link it)`, { path: db, links });
    }
  }
  const held: Database.Database[] = [];
  try {
    for (const dir of dirs) held.push(lockFile(join(dir, LOCK_FILE), home));
  } catch (error) {
    for (const connection of held) connection.close();
    throw error;
  }
  return {
    release() {
      for (const connection of held.splice(0)) connection.close();
    },
  };
}

function lockFile(path: string, home: string): Database.Database {
  const connection = new Database(path, { timeout: 0 });
  chmodSync(path, 0o600);
  try {
    connection.pragma('locking_mode = EXCLUSIVE');
    connection.pragma('journal_mode = MEMORY');
    connection.exec('BEGIN EXCLUSIVE');
    connection.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER NOT NULL, started_at INTEGER NOT NULL)');
    connection.exec('DELETE FROM holder');
    connection.prepare('INSERT INTO holder (pid, started_at) VALUES (?, ?)').run(process.pid, Date.now());
    connection.exec('COMMIT');
    return connection;
  } catch (error) {
    connection.close();
    if ((error as { code?: string }).code !== 'SQLITE_BUSY') throw error;
    const pid = lockHolder(path);
    const who = pid === null ? 'another process' : pid === process.pid ? `this process (PID ${pid})` : `PID ${pid}`;
    throw new StintError('CONFLICT', `another stint server already runs on ${home}: ${path} is locked by ${who}. Stop that server first (kill ${pid ?? '<pid>'}), or give this one its own --home`, { field: '--home', value: home, lock: path, pid });
  }
}

/** The PID holding a POSIX lock on the file, from /proc/locks (Linux); null when it cannot be told. */
export function lockHolder(path: string): number | null {
  try {
    const { dev, ino } = statSync(path, { bigint: true });
    // glibc's dev_t: major in bits 8-19 and 32-43, minor in bits 0-7 and 20-31; /proc/locks prints them in hex.
    const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
    const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
    const id = `${major.toString(16).padStart(2, '0')}:${minor.toString(16).padStart(2, '0')}:${ino}`;
    for (const line of readFileSync('/proc/locks', 'utf8').split('\n')) {
      const fields = line.trim().split(/\s+/);
      // "1: POSIX  ADVISORY  WRITE 1234 08:01:5678 1073741824 1073742335"
      if (fields[1] === 'POSIX' && fields[5] === id) return Number(fields[4]);
    }
  } catch {
    // No /proc (not Linux) or the file went away: the caller says "another process".
  }
  return null;
}
