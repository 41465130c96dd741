// GPU and server-information routes: every GPU of every backend with the job holding it.

import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { GpuListSchema, ServerInfoSchema } from '../../api/schemas.js';
import type { BackendIdentityView, GpuView, NodeConfinementView } from '../../api/schemas.js';
import type { ServerResources } from '../resources.js';
import { VERSION } from '../../version.js';

export function registerGpuRoutes(app: FastifyInstance, res: ServerResources): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  api.get('/api/v1/gpus', { schema: { summary: 'Every GPU of every backend, with its holder', response: { 200: GpuListSchema } } }, async () => {
    const holds = await res.store.listHolds();
    const drains = await res.store.observability.listDrains();
    const drainOf = (backend: string, node: string, gpu: number) => drains.find((d) => d.backend === backend && d.node === node && (d.gpuIndex === null || d.gpuIndex === gpu));
    const holders = new Map(holds.map((h) => [`${h.backend}/${h.node}/${h.gpuIndex}`, h.jobId]));
    const jobIds = [...new Set(holds.map((h) => h.jobId))];
    const jobs = new Map((await Promise.all(jobIds.map((id) => res.store.getJob(id)))).filter((j) => j !== null).map((j) => [j.id, j]));
    const gpus: GpuView[] = [];
    const confinement: NodeConfinementView[] = [];
    const identities: BackendIdentityView[] = res.backends.map((b) => ({ backend: b.name, ...b.identity }));
    for (const backend of res.backends) {
      const inventory = await backend.inventory();
      for (const node of inventory.nodes) {
        if (node.confinement) confinement.push({ backend: backend.name, node: node.name, ...node.confinement });
        for (const gpu of node.gpus) {
          const jobId = holders.get(`${backend.name}/${node.name}/${gpu.index}`) ?? null;
          const job = jobId === null ? undefined : jobs.get(jobId);
          gpus.push({
            backend: backend.name,
            node: node.name,
            index: gpu.index,
            name: gpu.name,
            model: gpu.model,
            memoryMb: gpu.memoryMb,
            vendor: gpu.vendor,
            healthy: gpu.healthy,
            drained: drainOf(backend.name, node.name, gpu.index)?.reason ?? null,
            nodeState: node.state ?? null,
            partitions: node.partitions ?? [],
            engineAllocated: !backend.stintPlaces,
            jobId,
            jobName: job?.name ?? null,
            owner: job?.owner ?? null,
          });
        }
      }
    }
    return { gpus, confinement, identities };
  });
  api.get('/api/v1/info', { schema: { summary: 'Server version and backends', response: { 200: ServerInfoSchema } } }, async () => ({
    version: VERSION,
    backends: res.backends.map((b) => ({ name: b.name, kind: b.kind })),
  }));
}
