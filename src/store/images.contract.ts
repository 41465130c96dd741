// The images contract: what every store adapter's `images` (images.ts) must do, run against each
// real engine by the adapter's own test file. Invariants checked: a name is one row (a second add
// is CONFLICT); replacing changes the image and never the owner; removal answers whether a row went;
// sizes past 2^32 survive (BIGINT); the listing is ordered by name.

import { describe, expect, it } from 'vitest';
import type { ImageRow } from './images.js';
import type { StoreFactory } from './store.contract.js';

const row = (name: string, ownerId: number | null, over: Partial<ImageRow> = {}): ImageRow => ({
  name, owner: `user${ownerId}`, ownerId, imageId: `sha256:${'a'.repeat(64)}`, digest: `sha256:${'b'.repeat(64)}`, sizeBytes: 5 * 2 ** 32, source: 'rootfs', createdAt: 1_700_000_000_000, ...over,
});

export function imagesContract(name: string, factory: StoreFactory): void {
  describe(`images contract: ${name}`, () => {
    it('adds, lists by name, refuses a second add of a name, replaces without changing the owner, removes', async () => {
      const store = await factory.open(await factory.freshLocation());
      const owner = await store.users.addUser('ann', 'member', 1);
      await store.images.addImage(row('zeta:1', owner.id));
      expect(await store.images.addImage(row('alpha:latest', null, { source: 'oci-archive' }))).toEqual(row('alpha:latest', null, { source: 'oci-archive' }));
      expect((await store.images.listImages()).map((i) => i.name)).toEqual(['alpha:latest', 'zeta:1']);
      await expect(store.images.addImage(row('zeta:1', 99))).rejects.toMatchObject({ code: 'CONFLICT' });
      const replaced = await store.images.replaceImage('zeta:1', { imageId: 'sha256:c', digest: 'sha256:d', sizeBytes: 7, source: 'docker-archive', createdAt: 2 });
      expect(replaced).toEqual({ ...row('zeta:1', owner.id), imageId: 'sha256:c', digest: 'sha256:d', sizeBytes: 7, source: 'docker-archive', createdAt: 2 });
      expect(await store.images.replaceImage('nope:1', { imageId: 'x', digest: 'y', sizeBytes: 1, source: 'rootfs', createdAt: 3 })).toBeNull();
      expect(await store.images.removeImage('zeta:1')).toBe(true);
      expect(await store.images.removeImage('zeta:1')).toBe(false);
      expect(await store.images.getImage('zeta:1')).toBeNull();
      expect((await store.images.getImage('alpha:latest'))?.sizeBytes).toBe(5 * 2 ** 32);
      await store.close();
    });
  });
}
