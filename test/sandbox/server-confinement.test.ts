// The server says how its local node confines jobs: in /api/v1/gpus (what `stint gpus` and the UI
// show) and, when it does not, in a start-up warning.
import { afterAll, describe, expect, it } from 'vitest';
import { inProcessServer, type InProcessServer } from '../helpers/server.js';

const isRoot = process.getuid?.() === 0;
let running: InProcessServer | null = null;
afterAll(async () => {
  await running?.server.stop();
});

describe('confinement in the API', () => {
  it('lists each local node\'s confinement beside its GPUs', async () => {
    running = await inProcessServer();
    const { confinement } = await running.client.gpus();
    expect(confinement).toHaveLength(1);
    const [local] = confinement;
    expect(local).toMatchObject({ backend: 'local', enforced: isRoot });
    if (isRoot) {
      expect(running.server.warnings).toEqual([]);
      // The test home is under /tmp, which a private /tmp would hide: the node says so.
      expect(local!.notes?.join(' ')).toMatch(/\/tmp is not private because .* must stay visible/);
    } else {
      expect(running.server.warnings).toEqual([expect.stringMatching(/^limits not enforced on this host: the server is not root/)]);
    }
  });
});
