// The server's side of confinement: how its local node confines jobs is listed in /api/v1/gpus
// (what `stint gpus` and the UI show); a server that does not confine says so at start; the
// per-GPU memory default of the server holds a job that states no memory, and the job's end
// names the evidence.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StintClient } from '../../src/api/client.js';
import { serverConfig, type ServerFlags } from '../../src/config.js';
import { startServer, type RunningServer } from '../../src/server/start.js';
import { isEnded, tempHome, waitForJob } from '../helpers/server.js';

const isRoot = process.getuid?.() === 0;
const servers: RunningServer[] = [];
afterAll(async () => {
  for (const server of servers) await server.stop();
});

async function serverWith(flags: ServerFlags): Promise<{ server: RunningServer; client: StintClient }> {
  const home = await tempHome();
  const server = await startServer(serverConfig({ allowRootJobs: true, home, port: '0', gpus: 'A100:2', killGrace: '2', ...flags }));
  servers.push(server);
  return { server, client: new StintClient(server.url, readFileSync(join(home, 'token'), 'utf8').trim()) };
}

describe('confinement through the server', () => {
  it('lists each local node\'s confinement beside its GPUs', async () => {
    const { server, client } = await serverWith({});
    const { confinement } = await client.gpus();
    expect(confinement).toEqual([expect.objectContaining({ backend: 'local', enforced: isRoot })]);
    if (isRoot) {
      expect(server.warnings).toEqual([]);
      // The test home is under /tmp, which a private /tmp would hide: the node says so.
      expect(confinement[0]!.notes?.join(' ')).toMatch(/\/tmp is not private because .* must stay visible/);
    } else {
      expect(server.warnings).toEqual([expect.stringMatching(/^limits not enforced on this host: the server is not root/)]);
    }
  });

  it('warns at start when it does not confine (--no-confine), and lists why', async () => {
    const { server, client } = await serverWith({ confine: false });
    expect(server.warnings).toEqual([expect.stringMatching(/^limits not enforced on this host: (confinement is turned off|the server is not root)/)]);
    expect((await client.gpus()).confinement[0]).toMatchObject({ enforced: false, reason: expect.any(String) });
  });

  // A memory limit needs a cgroup, which needs root.
  it.skipIf(!isRoot)('holds a job that states no memory to --default-memory-per-gpu times its GPUs', async () => {
    const { client } = await serverWith({ defaultMemoryPerGpu: '256MB' });
    const { id } = await client.submit({ task: "resources: {accelerators: A100:1}\nrun: python3 -c 'b = b\"x\" * (1 << 30)'\n" });
    const job = await waitForJob(client, id!, isEnded, 30_000);
    expect(job).toMatchObject({ state: 'FAILED', reason: expect.stringMatching(/^out of memory: peak [\d.]+ [KMG]iB, limit 256 MiB/) });
  });
});
