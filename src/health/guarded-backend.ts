// A backend as the scheduler sees it once health is in play: its inventory shows drained GPUs (and
// every GPU of a drained node) as unhealthy, which the pure policy already never places on; a
// failed batched poll is counted for /metrics before the error goes on to reconciliation. Every
// other property and method is the backend's own.

import type { Inventory } from '../core/inventory.js';
import type { Backend } from '../backends/backend.js';
import type { DrainRegistry } from './drains.js';

export function guardedBackend(backend: Backend, drains: DrainRegistry, pollFailed: (backend: string) => void): Backend {
  const inventory = async (): Promise<Inventory> => {
    const raw = await backend.inventory();
    if (drains.list().length === 0) return raw;
    return {
      ...raw,
      nodes: raw.nodes.map((node) => ({
        ...node,
        gpus: node.gpus.map((gpu) => (gpu.healthy && drains.drainOf(backend.name, node.name, gpu.index) ? { ...gpu, healthy: false } : gpu)),
      })),
    };
  };
  const poll: Backend['poll'] = async (attempts) => {
    try {
      return await backend.poll(attempts);
    } catch (error) {
      pollFailed(backend.name);
      throw error;
    }
  };
  return new Proxy(backend, {
    get(target, prop) {
      if (prop === 'inventory') return inventory;
      if (prop === 'poll') return poll;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
