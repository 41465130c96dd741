// Web sessions through the Authenticator with a clock the test moves, on a real SQLite store: the
// idle timeout slides with use, the absolute limit does not, a cached session is not honoured past
// its end, ending a session refuses it at once and tells the listeners (live log streams), and a
// session id and an API token are never taken for each other.

import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../store/sqlite/store.js';
import type { Store } from '../store/types.js';
import { Authenticator, hashToken, newToken, type Credential } from './auth.js';
import { MAX_FAILURES } from './failure-limiter.js';

const MINUTE = 60_000;
const limits = { idleMs: 60 * MINUTE, maxMs: 300 * MINUTE };

let store: Store;
let token: string;
let now: number;
let auth: Authenticator;

beforeEach(async () => {
  store = await openSqliteStore(join(await mkdtemp(join(tmpdir(), 'stint-sessions-')), 'stint.db'));
  const ann = await store.users.addUser('ann', 'member', 0);
  token = newToken();
  await store.users.addToken(ann.id, hashToken(token), 'web', 0);
  now = 1_000_000;
  auth = new Authenticator(store.users, { now: () => now }, { sessions: limits });
});
afterEach(async () => {
  await store.close();
});

const cookie = (sessionId: string): Credential => ({ secret: sessionId, via: 'cookie' });
const outcome = (credential: Credential) => auth.authenticate(credential, '127.0.0.1').then((c) => c.name, (e: { code: string }) => e.code);

describe('web sessions', () => {
  it('end after the idle timeout without use; each use moves the end', async () => {
    const { sessionId, caller } = await auth.startSession(token, '127.0.0.1');
    expect(caller.name).toBe('ann');
    now += limits.idleMs - 1;
    expect(await outcome(cookie(sessionId))).toBe('ann');
    now += limits.idleMs - 1;
    expect(await outcome(cookie(sessionId))).toBe('ann');
    now += limits.idleMs;
    expect(await outcome(cookie(sessionId))).toBe('UNAUTHORIZED');
  });

  it('end at the absolute limit however often they are used', async () => {
    const started = now;
    const { sessionId } = await auth.startSession(token, '127.0.0.1');
    while (now + 30 * MINUTE < started + limits.maxMs) {
      now += 30 * MINUTE;
      expect(await outcome(cookie(sessionId))).toBe('ann');
    }
    now = started + limits.maxMs - 1;
    expect(await outcome(cookie(sessionId))).toBe('ann');
    now = started + limits.maxMs;
    expect(await outcome(cookie(sessionId))).toBe('UNAUTHORIZED');
  });

  it('are not honoured from the cache past their end', async () => {
    const short = new Authenticator(store.users, { now: () => now }, { sessions: { idleMs: 3_000, maxMs: 3_600_000 } });
    const { sessionId } = await short.startSession(token, '127.0.0.1');
    now += 1_000;
    expect((await short.authenticate(cookie(sessionId), '127.0.0.1')).name).toBe('ann');
    now += 3_500; // within the 5 s cache, past the session's end (4 s after its last use)
    await expect(short.authenticate(cookie(sessionId), '127.0.0.1')).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  });

  it('end at once when ended here, and the listeners are told', async () => {
    const { sessionId } = await auth.startSession(token, '127.0.0.1');
    const other = await auth.startSession(token, '127.0.0.1');
    expect((await auth.recheck(cookie(sessionId))).name).toBe('ann');
    let told = 0;
    auth.onForget(() => told++);
    await auth.endSession(sessionId);
    expect(told).toBe(1);
    await expect(auth.recheck(cookie(sessionId))).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    // Ending it again, or a session that never was, changes nothing and tells no one.
    await auth.endSession(sessionId);
    await auth.endSession('no-such-session');
    expect(told).toBe(1);
    expect(await outcome(cookie(other.sessionId))).toBe('ann');
    expect(await outcome({ secret: token, via: 'bearer' })).toBe('ann');
  });

  it('a session id is not an API token, nor an API token a session id', async () => {
    const { sessionId } = await auth.startSession(token, '127.0.0.1');
    expect(await outcome(cookie(sessionId))).toBe('ann');
    expect(await outcome({ secret: sessionId, via: 'bearer' })).toBe('UNAUTHORIZED');
    expect(await outcome(cookie(token))).toBe('UNAUTHORIZED');
    expect(sessionId).toMatch(/^[\w-]{43}$/);
  });

  it('a token that does not resolve starts no session and counts as a failure, as do ended sessions', async () => {
    const { sessionId } = await auth.startSession(token, '127.0.0.1');
    await auth.endSession(sessionId);
    for (let i = 0; i < MAX_FAILURES / 2; i++) {
      await expect(auth.startSession(`guess-${i}`, '127.0.0.9')).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
      expect(await auth.authenticate(cookie(sessionId), '127.0.0.9').catch((e: { code: string }) => e.code)).toBe('UNAUTHORIZED');
    }
    await expect(auth.startSession(token, '127.0.0.9')).resolves.toMatchObject({ caller: { name: 'ann' } });
    await expect(auth.startSession('guess-x', '127.0.0.9')).rejects.toMatchObject({ code: 'RATE_LIMITED' });
  });
});
