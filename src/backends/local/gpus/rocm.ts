// Owns reading AMD GPUs from `rocm-smi --showproductname --showmeminfo vram --json`: an object
// keyed `card0`, `card1`, … (plus a `system` entry to ignore). Key spellings changed across ROCm
// releases — "Card series" (≤5.x) vs "Card Series" (6.x), "Card model" holding a name vs a hex id —
// so every key is looked up case-insensitively and hex ids are never taken for names.
// Invariants: cards come out ordered by their card number with indices 0..n-1 (the order HIP
// numbers them); memory comes from "VRAM Total Memory (B)" when present, else from the model's
// nominal size, else 0 with `healthy: false`; output that is not JSON is a BACKEND_ERROR.

import { StintError } from '../../../core/errors.js';
import type { Gpu } from '../../../core/inventory.js';
import { nominalMemoryMb, normalizeGpuName } from './names.js';

/** The arguments the local backend runs rocm-smi with. */
export const ROCM_SMI_ARGS: readonly string[] = ['--showproductname', '--showmeminfo', 'vram', '--json'];

type Card = Readonly<Record<string, unknown>>;

/** Name keys in order of preference; "Device Name" is what rocm-smi 6.2+ prints with `-a`. */
const NAME_KEYS = ['card series', 'device name', 'card model', 'card sku'] as const;

function lookup(card: Card, wanted: string): string | undefined {
  for (const [key, value] of Object.entries(card)) {
    if (key.trim().toLowerCase() === wanted && typeof value === 'string') {
      const trimmed = value.trim();
      if (trimmed !== '' && !/^n\/a$/i.test(trimmed)) return trimmed;
    }
  }
  return undefined;
}

/** The most specific product name: an Instinct part number wins, hex ids ("0x744c") never do. */
function productName(card: Card): string | undefined {
  const candidates = NAME_KEYS.map((key) => lookup(card, key)).filter(
    (value): value is string => value !== undefined && !/^0x[0-9a-f]+$/i.test(value),
  );
  return candidates.find((value) => /\bMI\d{2,3}/i.test(value)) ?? candidates[0];
}

function vramBytes(card: Card): number | undefined {
  for (const [key, value] of Object.entries(card)) {
    const lower = key.toLowerCase();
    if (!lower.includes('vram total memory') || lower.includes('used')) continue;
    const bytes = typeof value === 'number' ? value : Number(String(value).trim());
    if (Number.isFinite(bytes) && bytes > 0) return bytes;
  }
  return undefined;
}

function parseJson(output: string): Record<string, unknown> {
  const start = output.indexOf('{');
  try {
    const parsed: unknown = JSON.parse(start < 0 ? output : output.slice(start));
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new StintError('BACKEND_ERROR', `rocm-smi printed something that is not its JSON report: ${JSON.stringify(output.slice(0, 200))}`, {
    tool: 'rocm-smi',
  });
}

function cardGpu(card: Card, index: number): Gpu {
  const model = productName(card) ?? 'unknown AMD GPU';
  const name = normalizeGpuName(model);
  const bytes = vramBytes(card);
  const memoryMb = bytes !== undefined ? Math.floor(bytes / 2 ** 20) : (nominalMemoryMb(name) ?? 0);
  const gpu: Gpu = { index, name, model, memoryMb, vendor: 'amd', healthy: productName(card) !== undefined && memoryMb > 0 };
  const uuid = lookup(card, 'unique id');
  if (uuid !== undefined) gpu.uuid = uuid;
  return gpu;
}

/**
 * rocm-smi JSON → one Gpu per `cardN` entry, ordered by N and indexed from 0. Throws
 * StintError('BACKEND_ERROR') when the output holds no JSON object.
 */
export function parseRocmSmiJson(output: string): Gpu[] {
  const report = parseJson(output);
  return Object.entries(report)
    .map(([key, value]) => ({ number: /^card(\d+)$/i.exec(key)?.[1], value }))
    .filter((entry): entry is { number: string; value: Card } =>
      entry.number !== undefined && entry.value !== null && typeof entry.value === 'object')
    .sort((a, b) => Number(a.number) - Number(b.number))
    .map((entry, index) => cardGpu(entry.value, index));
}
