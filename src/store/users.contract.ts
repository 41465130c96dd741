// The users contract: what every store adapter's `users` (users.ts) must do, run against each real
// engine by the adapter's own test file. Invariants checked: names are unique among active users;
// a revoked token or a removed user's token never resolves; removal revokes every token at once;
// only the first user is bootstrapped, and a revoked home token never comes back; a web session
// is found by its hash only while it has not expired, its token is not revoked and its user not
// removed; the audit log keeps its order.

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { StoreFactory } from './store.contract.js';

const hash = (token: string) => createHash('sha256').update(token).digest('hex');

export function usersContract(name: string, factory: StoreFactory): void {
  describe(`users contract: ${name}`, () => {
    it('adds users with unique names and lists the active ones by name', async () => {
      const store = await factory.open(await factory.freshLocation());
      const bob = await store.users.addUser('bob', 'member', 10);
      await store.users.addUser('ann', 'viewer', 11);
      expect(bob).toEqual({ id: expect.any(Number), name: 'bob', role: 'member', createdAt: 10, removedAt: null, unixUser: null });
      await expect(store.users.addUser('bob', 'admin', 12)).rejects.toMatchObject({ code: 'CONFLICT' });
      expect((await store.users.listUsers()).map((u) => [u.name, u.role])).toEqual([['ann', 'viewer'], ['bob', 'member']]);
      expect(await store.users.getUser('nobody')).toBeNull();
      await store.close();
    });

    it('resolves a token by its hash until it is revoked', async () => {
      const store = await factory.open(await factory.freshLocation());
      const bob = await store.users.addUser('bob', 'member', 1);
      const token = await store.users.addToken(bob.id, hash('t1'), 'laptop', 2);
      expect(token).toEqual({ id: expect.any(Number), userId: bob.id, userName: 'bob', label: 'laptop', createdAt: 2, revokedAt: null, lastUsedAt: null });
      expect(Object.keys(token)).not.toContain('hash');
      expect(await store.users.findActiveToken(hash('t1'))).toMatchObject({ token: { id: token.id }, user: { name: 'bob', role: 'member' } });
      expect(await store.users.findActiveToken(hash('t2'))).toBeNull();
      await expect(store.users.addToken(bob.id, hash('t1'), null, 3)).rejects.toMatchObject({ code: 'CONFLICT' });
      await store.users.touchToken(token.id, 4);
      expect((await store.users.getToken(token.id))?.lastUsedAt).toBe(4);
      expect((await store.users.revokeToken(token.id, 5))?.revokedAt).toBe(5);
      expect((await store.users.revokeToken(token.id, 6))?.revokedAt).toBe(5);
      expect(await store.users.findActiveToken(hash('t1'))).toBeNull();
      expect(await store.users.revokeToken(424242, 7)).toBeNull();
      await store.close();
    });

    it('removing a user revokes all its tokens and memberships; its name can come back as a new id that inherits nothing', async () => {
      const store = await factory.open(await factory.freshLocation());
      const bob = await store.users.addUser('bob', 'member', 1);
      await store.users.addToken(bob.id, hash('a'), null, 2);
      await store.users.addToken(bob.id, hash('b'), null, 2);
      await store.users.addProject('vision', 2);
      await store.users.setMember('vision', bob.id, 'admin');
      expect((await store.users.removeUser('bob', 3))?.removedAt).toBe(3);
      expect(await store.users.removeUser('bob', 4)).toBeNull();
      expect(await store.users.findActiveToken(hash('a'))).toBeNull();
      expect((await store.users.listTokens(bob.id)).map((t) => t.revokedAt)).toEqual([3, 3]);
      expect(await store.users.listMemberships(bob.id)).toEqual([]);
      expect(await store.users.listUsers()).toEqual([]);
      expect((await store.users.listUsers({ includeRemoved: true })).map((u) => u.name)).toEqual(['bob']);
      await store.users.setUnixUser('bob', 'nobody');
      const back = await store.users.addUser('bob', 'viewer', 5);
      expect(back).toMatchObject({ role: 'viewer', removedAt: null, unixUser: null });
      expect(back.id).not.toBe(bob.id);
      expect(await store.users.findActiveToken(hash('b'))).toBeNull();
      expect(await store.users.listTokens(back.id)).toEqual([]);
      expect(await store.users.getUser('bob')).toMatchObject({ id: back.id });
      expect(await store.users.getUserById(bob.id)).toMatchObject({ name: 'bob', removedAt: 3 });
      expect((await store.users.listUsers({ includeRemoved: true })).map((u) => [u.name, u.id])).toEqual([['bob', bob.id], ['bob', back.id]].sort((a, b) => Number(a[1]) - Number(b[1])));
      await expect(store.users.addUser('bob', 'member', 6)).rejects.toMatchObject({ code: 'CONFLICT' });
      await store.close();
    });

    it('keeps a web session by its hash only, until it expires or is deleted; sessions survive reopening', async () => {
      const location = await factory.freshLocation();
      const store = await factory.open(location);
      const bob = await store.users.addUser('bob', 'member', 1);
      const token = await store.users.addToken(bob.id, hash('t1'), null, 2);
      const made = await store.users.addSession({ hash: hash('s1'), userId: bob.id, tokenId: token.id, at: 10, expiresAt: 100 });
      expect(made).toEqual({ userId: bob.id, tokenId: token.id, createdAt: 10, lastSeenAt: 10, expiresAt: 100 });
      await expect(store.users.addSession({ hash: hash('s1'), userId: bob.id, tokenId: token.id, at: 11, expiresAt: 100 })).rejects.toMatchObject({ code: 'CONFLICT' });
      expect(await store.users.findActiveSession(hash('s1'), 99)).toMatchObject({ session: made, token: { id: token.id }, user: { id: bob.id, name: 'bob', role: 'member' } });
      expect(await store.users.findActiveSession(hash('s1'), 100)).toBeNull();
      expect(await store.users.findActiveSession(hash('t1'), 50)).toBeNull();
      await store.users.touchSession(hash('s1'), 60, 160);
      expect((await store.users.findActiveSession(hash('s1'), 150))?.session).toEqual({ ...made, lastSeenAt: 60, expiresAt: 160 });
      await store.close();
      const again = await factory.open(location);
      expect((await again.users.findActiveSession(hash('s1'), 150))?.session.expiresAt).toBe(160);
      expect(await again.users.deleteSession(hash('s1'))).toBe(true);
      expect(await again.users.deleteSession(hash('s1'))).toBe(false);
      expect(await again.users.findActiveSession(hash('s1'), 61)).toBeNull();
      await again.close();
    });

    it('a session ends with its token and with its user; a new session deletes the expired ones', async () => {
      const store = await factory.open(await factory.freshLocation());
      const bob = await store.users.addUser('bob', 'member', 1);
      const ann = await store.users.addUser('ann', 'member', 1);
      const t1 = await store.users.addToken(bob.id, hash('t1'), null, 2);
      const t2 = await store.users.addToken(bob.id, hash('t2'), null, 2);
      const t3 = await store.users.addToken(ann.id, hash('t3'), null, 2);
      const session = (name: string, userId: number, tokenId: number, at: number, expiresAt: number) => store.users.addSession({ hash: hash(name), userId, tokenId, at, expiresAt });
      await session('s1', bob.id, t1.id, 3, 1000);
      await session('s2', bob.id, t2.id, 3, 1000);
      await session('s3', ann.id, t3.id, 3, 1000);
      await store.users.revokeToken(t1.id, 4);
      expect(await store.users.findActiveSession(hash('s1'), 5)).toBeNull();
      expect(await store.users.findActiveSession(hash('s2'), 5)).not.toBeNull();
      await store.users.removeUser('bob', 6);
      expect(await store.users.findActiveSession(hash('s2'), 7)).toBeNull();
      expect(await store.users.findActiveSession(hash('s3'), 7)).not.toBeNull();
      // An expired row stays until the next session is made, which deletes it (asked about an
      // earlier time, it is no longer found at all).
      await session('s4', ann.id, t3.id, 8, 50);
      expect(await store.users.findActiveSession(hash('s4'), 20)).not.toBeNull();
      await session('s5', ann.id, t3.id, 60, 1000);
      expect(await store.users.findActiveSession(hash('s4'), 20)).toBeNull();
      expect(await store.users.deleteSession(hash('s4'))).toBe(false);
      expect(await store.users.findActiveSession(hash('s3'), 61)).not.toBeNull();
      expect(await store.users.findActiveSession(hash('s5'), 61)).not.toBeNull();
      await store.close();
    });

    it("drops a removed user's caps and webhook, which are keyed by name", async () => {
      const store = await factory.open(await factory.freshLocation());
      await store.users.addUser('cat', 'member', 1);
      await store.setUserCaps({ user: 'cat', maxGpus: 0 });
      await store.observability.setWebhook({ user: 'cat', url: 'https://hooks.example.org/cat', format: 'json' });
      await store.users.removeUser('cat', 2);
      await store.users.addUser('cat', 'member', 3);
      expect(await store.listUserCaps()).toEqual([]);
      expect(await store.observability.getWebhook('cat')).toBeNull();
      await store.close();
    });

    it("bootstraps the first admin into an empty table; later adds a new home token, never a revoked one", async () => {
      const location = await factory.freshLocation();
      const store = await factory.open(location);
      expect(await store.users.bootstrapAdmin('root', hash('home'), 1)).toBe('created');
      expect(await store.users.bootstrapAdmin('root', hash('home'), 2)).toBe('unchanged');
      await store.close();
      const again = await factory.open(location);
      expect(await again.users.bootstrapAdmin('other', hash('x'), 3)).toBe('unchanged');
      expect((await again.users.listUsers()).map((u) => [u.name, u.role])).toEqual([['root', 'admin']]);
      expect(await again.users.findActiveToken(hash('home'))).toMatchObject({ token: { label: 'server home token' }, user: { name: 'root' } });
      expect(await again.users.findActiveToken(hash('x'))).toBeNull();
      // The home token file was lost and made anew: the new one joins the admin's tokens.
      expect(await again.users.bootstrapAdmin('root', hash('home2'), 4)).toBe('token-added');
      expect((await again.users.findActiveToken(hash('home2')))?.user.name).toBe('root');
      // A revoked home token stays revoked across restarts.
      const revoked = (await again.users.findActiveToken(hash('home')))!.token;
      await again.users.revokeToken(revoked.id, 5);
      expect(await again.users.bootstrapAdmin('root', hash('home'), 6)).toBe('unchanged');
      expect(await again.users.findActiveToken(hash('home'))).toBeNull();
      // Only an active admin gets one.
      await again.users.addUser('ann', 'member', 7);
      expect(await again.users.bootstrapAdmin('ann', hash('ann-home'), 8)).toBe('unchanged');
      await again.close();
    });

    it('keeps projects with their members and roles', async () => {
      const store = await factory.open(await factory.freshLocation());
      const ann = await store.users.addUser('ann', 'member', 1);
      const bob = await store.users.addUser('bob', 'member', 1);
      expect(await store.users.addProject('vision', 2)).toEqual({ name: 'vision', createdAt: 2, members: [] });
      await expect(store.users.addProject('vision', 3)).rejects.toMatchObject({ code: 'CONFLICT' });
      await store.users.addProject('audio', 3);
      await store.users.setMember('vision', bob.id, 'member');
      await store.users.setMember('vision', ann.id, 'member');
      await store.users.setMember('vision', ann.id, 'admin');
      await expect(store.users.setMember('nope', ann.id, 'member')).rejects.toMatchObject({ code: 'NOT_FOUND' });
      expect(await store.users.getProject('vision')).toEqual({
        name: 'vision', createdAt: 2,
        members: [{ userId: ann.id, userName: 'ann', role: 'admin' }, { userId: bob.id, userName: 'bob', role: 'member' }],
      });
      expect(await store.users.listMemberships(ann.id)).toEqual([{ project: 'vision', role: 'admin' }]);
      expect(await store.users.removeMember('vision', bob.id)).toBe(true);
      expect(await store.users.removeMember('vision', bob.id)).toBe(false);
      expect((await store.users.listProjects()).map((p) => [p.name, p.members.length])).toEqual([['audio', 0], ['vision', 1]]);
      expect(await store.users.getProject('nope')).toBeNull();
      await store.close();
    });

    it('appends audit entries and lists them newest first, in pages; they survive reopening', async () => {
      const location = await factory.freshLocation();
      const store = await factory.open(location);
      for (let i = 1; i <= 5; i++) {
        await store.users.appendAudit({ at: i, actor: 'root', action: 'user.add', target: `user/u${i}`, details: { role: 'member', n: i } });
      }
      await store.close();
      const again = await factory.open(location);
      const all = await again.users.listAudit();
      expect(all.map((e) => e.target)).toEqual(['user/u5', 'user/u4', 'user/u3', 'user/u2', 'user/u1']);
      expect(all[0]).toEqual({ id: expect.any(Number), at: 5, actor: 'root', action: 'user.add', target: 'user/u5', details: { role: 'member', n: 5 } });
      const page = await again.users.listAudit({ limit: 2, beforeId: all[1]!.id });
      expect(page.map((e) => e.target)).toEqual(['user/u3', 'user/u2']);
      await again.close();
    });
  });
}
