// Owns the `--gpus` flag of the local backend: pretend GPUs for laptops and CI. `A100:4`, `4`, and
// `A100:2,H100:2` each describe a whole node's GPUs.
// Invariants: indices run 0..n-1 across all items in the order written; every GPU is vendor
// 'fake', healthy, and named the way a task file would name it (`a100` → `A100`); any value this
// function cannot read fully is rejected with an error that names the flag — nothing is half-read.

import { StintError } from '../../../core/errors.js';
import type { Gpu } from '../../../core/inventory.js';
import { GPU_NAME_PATTERN, nominalMemoryMb, normalizeGpuName } from './names.js';

/** The type a bare count (`--gpus 4`) gives its GPUs; a task asks for them as `GPU:1`. */
export const GENERIC_FAKE_GPU = 'GPU';

/** Memory of a fake GPU whose model has no nominal size (including the generic `GPU`). */
export const DEFAULT_FAKE_MEMORY_MB = 16384;

/** The most fake GPUs one node may claim; a typo such as `A100:4000` should fail, not allocate. */
export const MAX_FAKE_GPUS = 256;

const ACCEPTED = 'a count (4), a type and count (A100:4), or a comma-separated list of those (A100:2,H100:2)';

interface FakeGroup {
  name: string;
  count: number;
}

function invalid(spec: string, item: string, problem: string): StintError {
  return new StintError(
    'INVALID_REQUEST',
    `--gpus ${JSON.stringify(spec)}: ${problem}. Accepted: ${ACCEPTED}.`,
    { flag: '--gpus', value: spec, item, accepted: ACCEPTED },
  );
}

function parseCount(spec: string, item: string, text: string): number {
  if (!/^\d+$/.test(text)) throw invalid(spec, item, `the count in ${JSON.stringify(item)} must be a whole number`);
  const count = Number(text);
  if (count < 1) throw invalid(spec, item, `the count in ${JSON.stringify(item)} must be at least 1`);
  return count;
}

function parseGroup(spec: string, item: string): FakeGroup {
  const colon = item.indexOf(':');
  if (colon < 0) {
    if (/^\d+$/.test(item)) return { name: GENERIC_FAKE_GPU, count: parseCount(spec, item, item) };
    throw invalid(spec, item, `${JSON.stringify(item)} has no count; write ${item}:1`);
  }
  const name = item.slice(0, colon).trim();
  if (name === '') throw invalid(spec, item, `${JSON.stringify(item)} has no GPU type before the colon`);
  if (!GPU_NAME_PATTERN.test(name)) {
    throw invalid(spec, item, `${JSON.stringify(name)} is not a GPU type name (letters, digits, . _ -)`);
  }
  return { name: normalizeGpuName(name), count: parseCount(spec, item, item.slice(colon + 1).trim()) };
}

function fakeGpu(name: string, index: number): Gpu {
  return {
    index,
    name,
    model: `fake ${name}`,
    memoryMb: nominalMemoryMb(name) ?? DEFAULT_FAKE_MEMORY_MB,
    vendor: 'fake',
    uuid: `fake-${index}`,
    healthy: true,
  };
}

/**
 * Reads a `--gpus` value: `A100:4` (four A100s), `4` (four GPUs of the generic type `GPU`),
 * `A100:2,H100:2` (indices continue: 0-1 are A100, 2-3 are H100). Memory is each model's nominal
 * size (A100 40960 MiB, A100-80GB and H100 81920 MiB, …) or 16384 MiB when the model is unknown.
 * Throws StintError('INVALID_REQUEST') naming `--gpus`, the bad value and the accepted forms.
 */
export function parseFakeGpus(spec: string): Gpu[] {
  const items = spec.split(',').map((item) => item.trim());
  if (spec.trim() === '' || items.some((item) => item === '')) {
    throw invalid(spec, spec, 'the value is empty or has an empty item');
  }
  const groups = items.map((item) => parseGroup(spec, item));
  const total = groups.reduce((sum, group) => sum + group.count, 0);
  if (total > MAX_FAKE_GPUS) throw invalid(spec, spec, `${total} GPUs is more than the ${MAX_FAKE_GPUS} one node may fake`);
  const gpus: Gpu[] = [];
  for (const group of groups) {
    for (let i = 0; i < group.count; i++) gpus.push(fakeGpu(group.name, gpus.length));
  }
  return gpus;
}
