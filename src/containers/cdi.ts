// The CDI (Container Device Interface) names a container gets for its GPUs. stint writes one
// spec from its own GPU inventory (devices "0".."N-1" = stint's GPU index, each with its device
// node plus the shared control nodes) of a kind of its own per home, `stint.local/gpu-<hash>`:
// two specs declaring the same kind and device name make podman refuse both ("unresolvable CDI
// devices"), so neither NVIDIA's spec nor a second stint server on the machine may share it.
// When the host has NVIDIA's own spec (`nvidia-ctk cdi generate`, which also injects the driver
// libraries) its names `nvidia.com/gpu=<i>` are used and stint writes nothing. podman 4.3 reads specs only from /etc/cdi and /var/run/cdi
// (containers.conf has no `cdi_spec_dirs` there), so stint's spec lives in /var/run/cdi (gone at
// reboot, rewritten at each start) under a name derived from stint's home.
// Must hold: a device named `<kind>=<i>` opens stint GPU i's node and no other GPU's;
// a GPU without a device node (a fake GPU) gets no CDI device at all, never another GPU's.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { GpuVendor } from '../core/inventory.js';

/** NVIDIA's kind (nvidia-ctk's specs). */
export const CDI_KIND = 'nvidia.com/gpu';
export const CDI_DIRS = ['/etc/cdi', '/var/run/cdi'] as const;
/** Nodes every NVIDIA container needs besides its GPUs' own, added when the host has them. */
export const NVIDIA_SHARED_NODES = ['/dev/nvidiactl', '/dev/nvidia-uvm', '/dev/nvidia-uvm-tools'];

/** What cdi.ts needs of a GPU of the inventory. */
export interface CdiGpu {
  index: number;
  vendor: GpuVendor;
  /** The GPU's own device node (inventory's devicePath); default /dev/nvidia<index>. */
  devicePath?: string;
}

export interface CdiSpec {
  cdiVersion: '0.5.0';
  kind: string;
  devices: Array<{ name: string; containerEdits: { deviceNodes: Array<{ path: string; hostPath?: string }> } }>;
  containerEdits: { deviceNodes: Array<{ path: string }> };
}

/** How the engine names each GPU for `--device`; `null`: the GPU has no node to pass. */
export interface CdiDevices {
  /** Where the names come from: stint's own spec, NVIDIA's, or none (no NVIDIA GPU with a node). */
  source: { kind: 'stint'; file: string } | { kind: 'nvidia'; file: string } | { kind: 'none' };
  deviceFor(index: number): string | null;
}

/** The node of an NVIDIA GPU: the inventory's, else the driver's usual name. */
export function nvidiaNode(gpu: CdiGpu): string {
  return gpu.devicePath ?? `/dev/nvidia${gpu.index}`;
}

/**
 * stint's spec for the NVIDIA (and fake) GPUs whose node exists. `exists` is the only host look-up,
 * passed in so the spec itself is a pure function of the inventory.
 */
export function buildCdiSpec(gpus: readonly CdiGpu[], exists: (path: string) => boolean, kind: string): CdiSpec {
  const devices = gpus
    .filter((g) => g.vendor === 'nvidia' || g.vendor === 'fake')
    .filter((g) => exists(nvidiaNode(g)))
    .map((g) => ({ name: String(g.index), containerEdits: { deviceNodes: [containerNode(g)] } }));
  return {
    cdiVersion: '0.5.0',
    kind,
    devices,
    containerEdits: { deviceNodes: NVIDIA_SHARED_NODES.filter(exists).map((path) => ({ path })) },
  };
}

/** Inside, the GPU is /dev/nvidia<index> as the driver names it; a node elsewhere (fake GPUs) is its hostPath. */
function containerNode(gpu: CdiGpu): { path: string; hostPath?: string } {
  const inside = `/dev/nvidia${gpu.index}`;
  return nvidiaNode(gpu) === inside ? { path: inside } : { path: inside, hostPath: nvidiaNode(gpu) };
}

function homeHash(home: string): string {
  return createHash('sha256').update(home).digest('hex').slice(0, 12);
}

/** The file name of this stint home's spec (several stint servers may share one machine). */
export function stintSpecName(home: string): string {
  return `stint-${homeHash(home)}.json`;
}

/** The CDI kind of this stint home's spec. */
export function stintKind(home: string): string {
  return `stint.local/gpu-${homeHash(home)}`;
}

/**
 * Prepares the CDI names for the inventory: NVIDIA's spec when one is installed, else stint's own,
 * written atomically into /var/run/cdi (or `dir`, for tests). Names are `<kind>=<index>`.
 */
export function prepareCdi(options: { home: string; gpus: readonly CdiGpu[]; dir?: string; searchDirs?: readonly string[] }): CdiDevices {
  const ownName = stintSpecName(options.home);
  const nvidia = findNvidiaSpec(options.searchDirs ?? CDI_DIRS, ownName);
  if (nvidia) {
    return { source: { kind: 'nvidia', file: nvidia.file }, deviceFor: (i) => (nvidia.names.has(String(i)) ? `${CDI_KIND}=${i}` : null) };
  }
  const kind = stintKind(options.home);
  const spec = buildCdiSpec(options.gpus, existsSync, kind);
  const dir = options.dir ?? '/var/run/cdi';
  const file = join(dir, ownName);
  if (spec.devices.length === 0) {
    rmSync(file, { force: true });
    return { source: { kind: 'none' }, deviceFor: () => null };
  }
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(spec, null, 2)}\n`, { mode: 0o644, flag: 'wx' });
  renameSync(temp, file);
  const names = new Set(spec.devices.map((d) => d.name));
  return { source: { kind: 'stint', file }, deviceFor: (i) => (names.has(String(i)) ? `${kind}=${i}` : null) };
}

/** A spec of kind nvidia.com/gpu that is not one of stint's (nvidia-ctk writes nvidia.yaml / .json). */
function findNvidiaSpec(dirs: readonly string[], ownName: string): { file: string; names: Set<string> } | null {
  for (const dir of dirs) {
    let entries: string[];
    try {
      entries = readdirSync(dir).sort();
    } catch {
      continue;
    }
    for (const entry of entries) {
      if (entry.startsWith('stint-') || !/\.(ya?ml|json)$/.test(entry)) continue;
      const file = join(dir, entry);
      const spec = readSpec(file);
      if (spec?.kind === CDI_KIND) return { file, names: new Set((spec.devices ?? []).map((d) => String(d.name))) };
    }
  }
  return null;
}

function readSpec(file: string): { kind?: unknown; devices?: Array<{ name?: unknown }> } | null {
  try {
    const parsed: unknown = parseYaml(readFileSync(file, 'utf8'));
    return typeof parsed === 'object' && parsed !== null ? (parsed as { kind?: unknown; devices?: Array<{ name?: unknown }> }) : null;
  } catch {
    return null;
  }
}
