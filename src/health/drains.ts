// Drained GPUs and nodes: no new job is placed on them. A drain is either by hand (`stint admin
// drain`, source 'admin': running jobs finish) or from a failed health check (source 'health': the
// GPU is broken, so its running job is stopped and requeued by enforce.ts). Kept in the store (a
// restart keeps them) and mirrored in memory, so placement reads them without a query. Every drain
// and resume is a health event and an alert to the admins.

import type { Clock } from '../core/clock.js';
import type { GpuDrain, ObservabilityStore } from '../store/observability.js';
import type { AlertSender } from '../alerts/sender.js';

export class DrainRegistry {
  private drains = new Map<string, GpuDrain>();

  constructor(
    private readonly store: ObservabilityStore,
    private readonly clock: Clock,
    private readonly alerts: AlertSender | null,
  ) {}

  async load(): Promise<void> {
    this.drains = new Map((await this.store.listDrains()).map((d) => [keyOf(d.backend, d.node, d.gpuIndex), d]));
  }

  list(): GpuDrain[] {
    return [...this.drains.values()];
  }

  /** The drain that keeps this GPU (or its whole node) out of placement, if any. */
  drainOf(backend: string, node: string, gpu: number): GpuDrain | undefined {
    return this.drains.get(keyOf(backend, node, gpu)) ?? this.drains.get(keyOf(backend, node, null));
  }

  nodeDrained(backend: string, node: string): boolean {
    return this.drains.has(keyOf(backend, node, null));
  }

  /** Drains a GPU (or a node with gpuIndex null); a GPU already drained keeps its first reason. */
  async drain(d: { backend: string; node: string; gpuIndex: number | null; reason: string; source: 'admin' | 'health'; kind?: string }): Promise<GpuDrain> {
    const existing = this.drains.get(keyOf(d.backend, d.node, d.gpuIndex));
    if (existing && (existing.source === 'health' || d.source === 'admin')) return existing;
    const drain: GpuDrain = { backend: d.backend, node: d.node, gpuIndex: d.gpuIndex, reason: d.reason, source: d.source, at: this.clock.now() };
    await this.store.setDrain(drain);
    this.drains.set(keyOf(d.backend, d.node, d.gpuIndex), drain);
    await this.store.addHealthEvent({ at: drain.at, backend: d.backend, node: d.node, gpuIndex: d.gpuIndex, kind: d.kind ?? 'drain', detail: d.reason });
    const what = d.gpuIndex === null ? `node ${d.node}` : `GPU ${d.gpuIndex} on ${d.node}`;
    this.alerts?.toAdmins({
      kind: d.gpuIndex === null ? 'node_drained' : 'gpu_drained',
      severity: d.source === 'health' ? 'critical' : 'warning',
      title: `${what} (${d.backend}) drained${d.source === 'health' ? ' by a failed health check' : ''}`,
      text: d.reason,
      at: drain.at,
      gpu: { backend: d.backend, node: d.node, index: d.gpuIndex },
    });
    return drain;
  }

  /** Lifts a drain; false if there was none. */
  async resume(backend: string, node: string, gpuIndex: number | null, by: string): Promise<boolean> {
    const removed = await this.store.clearDrain(backend, node, gpuIndex);
    this.drains.delete(keyOf(backend, node, gpuIndex));
    if (!removed) return false;
    const at = this.clock.now();
    await this.store.addHealthEvent({ at, backend, node, gpuIndex, kind: 'resume', detail: `resumed by ${by}` });
    const what = gpuIndex === null ? `node ${node}` : `GPU ${gpuIndex} on ${node}`;
    this.alerts?.toAdmins({ kind: 'gpu_resumed', severity: 'info', title: `${what} (${backend}) resumed`, text: `resumed by ${by}`, at, gpu: { backend, node, index: gpuIndex } });
    return true;
  }

  /** Drains from failed health checks: their running jobs must stop. */
  failures(): GpuDrain[] {
    return this.list().filter((d) => d.source === 'health');
  }
}

function keyOf(backend: string, node: string, gpu: number | null): string {
  return `${backend}/${node}/${gpu ?? '*'}`;
}
