// Owns reading Apple Silicon GPUs from `system_profiler SPDisplaysDataType -json` together with
// `sysctl -n hw.memsize`. Apple Silicon has unified memory: the GPU shares the machine's RAM, and
// macOS lets Metal use about three quarters of it, so that is what we offer to jobs.
// Invariants: one Gpu per Apple chip (an entry whose `sppci_model` is "Apple M…"), never one per
// display; other adapters (Intel iGPUs, AMD cards in Intel Macs) are left out, since no job
// runtime we launch can use them; memoryMb = floor(0.75 × hw.memsize / MiB).

import { StintError } from '../../../core/errors.js';
import type { Gpu } from '../../../core/inventory.js';
import { normalizeGpuName } from './names.js';

export const SYSTEM_PROFILER_ARGS: readonly string[] = ['SPDisplaysDataType', '-json'];
export const SYSCTL_MEMSIZE_ARGS: readonly string[] = ['-n', 'hw.memsize'];

/** The share of unified memory we schedule as GPU memory. */
export const APPLE_GPU_MEMORY_SHARE = 0.75;

export interface AppleChip {
  /** As reported, e.g. `Apple M2 Max`. */
  model: string;
  /** GPU cores (`sppci_cores`), when reported. */
  gpuCores?: number;
}

function profilerEntries(profilerJson: string): unknown[] {
  try {
    const parsed: unknown = JSON.parse(profilerJson);
    const entries = (parsed as { SPDisplaysDataType?: unknown } | null)?.SPDisplaysDataType;
    if (Array.isArray(entries)) return entries;
  } catch {
    // reported below
  }
  throw new StintError('BACKEND_ERROR', 'system_profiler SPDisplaysDataType -json printed no SPDisplaysDataType list', {
    tool: 'system_profiler',
  });
}

/** The Apple chips listed by `system_profiler SPDisplaysDataType -json`. */
export function parseAppleChips(profilerJson: string): AppleChip[] {
  const chips: AppleChip[] = [];
  for (const entry of profilerEntries(profilerJson)) {
    const fields = (entry ?? {}) as Record<string, unknown>;
    const model = typeof fields.sppci_model === 'string' ? fields.sppci_model.trim() : '';
    if (!/^Apple M\d/.test(model)) continue;
    const cores = Number(fields.sppci_cores);
    chips.push(Number.isInteger(cores) && cores > 0 ? { model, gpuCores: cores } : { model });
  }
  return chips;
}

/** `sysctl -n hw.memsize` output (bytes, e.g. `34359738368`) → bytes. */
export function parseMemsize(memsize: string | number): number {
  const bytes = typeof memsize === 'number' ? memsize : Number(memsize.trim());
  if (!Number.isSafeInteger(bytes) || bytes <= 0) {
    throw new StintError('BACKEND_ERROR', `sysctl -n hw.memsize printed ${JSON.stringify(String(memsize))}, not a byte count`, {
      tool: 'sysctl',
    });
  }
  return bytes;
}

/**
 * One Gpu per Apple chip, with 75% of the machine's RAM as its memory (see
 * APPLE_GPU_MEMORY_SHARE). `memsize` is the output of `sysctl -n hw.memsize`.
 */
export function parseAppleGpus(profilerJson: string, memsize: string | number): Gpu[] {
  const chips = parseAppleChips(profilerJson);
  if (chips.length === 0) return [];
  const memoryMb = Math.floor((parseMemsize(memsize) * APPLE_GPU_MEMORY_SHARE) / 2 ** 20);
  return chips.map((chip, index) => ({
    index,
    name: normalizeGpuName(chip.model),
    model: chip.model,
    memoryMb,
    vendor: 'apple',
    healthy: true,
  }));
}
