// Parsers of GPU telemetry tools' output into one shape: per GPU its utilisation (0..1), memory in
// use and size, and the uncorrectable-ECC count where the tool reports one; plus NVIDIA Xid lines
// from the kernel log. Pure functions, tested on captured outputs (test/fixtures/gpus/SOURCES.md).
// Invariants: a value the tool prints as unavailable ([N/A], [Not Supported], missing) becomes
// null, never 0 (an unknown utilisation must not look idle); a line or entry we cannot read at all
// is an error naming the tool, so a broken driver is seen rather than taken for an idle GPU.

import { StintError } from '../core/errors.js';

export interface GpuSample {
  index: number;
  uuid: string | null;
  /** 0..1; null when the tool cannot say (MIG, unsupported). */
  utilization: number | null;
  memoryUsedMb: number | null;
  memoryTotalMb: number | null;
  /** Uncorrectable ECC errors since the driver loaded; null when ECC is off or unsupported. */
  eccUncorrected: number | null;
  /** Xid codes reported for this GPU since the previous sample. */
  xids: number[];
}

export const NVIDIA_TELEMETRY_ARGS = [
  '--query-gpu=index,uuid,utilization.gpu,memory.used,memory.total,ecc.errors.uncorrected.volatile.total,pci.bus_id',
  '--format=csv,noheader,nounits',
] as const;

export const ROCM_TELEMETRY_ARGS = ['--showuse', '--showmeminfo', 'vram', '--json'] as const;

export const POWERMETRICS_ARGS = ['--samplers', 'gpu_power', '-i', '1000', '-n', '1'] as const;

function bad(tool: string, problem: string, text: string): StintError {
  return new StintError('INTERNAL', `${tool}: ${problem}`, { tool, text: text.slice(0, 200) });
}

/** A number, or null for the tools' "not available" spellings. */
function num(text: string | undefined): number | null {
  const t = (text ?? '').trim().replace(/\s*(MiB|%|W)$/i, '');
  if (t === '' || /^\[?(N\/A|Not Supported|Unknown Error|Insufficient Permissions)\]?$/i.test(t)) return null;
  const n = Number(t);
  return Number.isFinite(n) ? n : null;
}

/** Reads the NVIDIA telemetry query; returns the samples and each GPU's PCI bus id (for Xids). */
export function parseNvidiaTelemetry(output: string): { samples: GpuSample[]; busIds: Map<string, number> } {
  const samples: GpuSample[] = [];
  const busIds = new Map<string, number>();
  for (const line of output.split('\n').map((l) => l.trim()).filter(Boolean)) {
    const cols = line.split(',').map((c) => c.trim());
    if (cols.length < 7) throw bad('nvidia-smi', `expected 7 columns, got ${cols.length}`, line);
    const index = Number(cols[0]);
    if (!Number.isInteger(index)) throw bad('nvidia-smi', `"${cols[0]}" is not a GPU index`, line);
    const util = num(cols[2]);
    samples.push({
      index,
      uuid: cols[1] || null,
      utilization: util === null ? null : util / 100,
      memoryUsedMb: num(cols[3]),
      memoryTotalMb: num(cols[4]),
      eccUncorrected: num(cols[5]),
      xids: [],
    });
    busIds.set(normalizeBusId(cols[6]!), index);
  }
  return { samples, busIds };
}

/** `00000000:83:00.0` and the kernel's `0000:83:00` name the same device. */
export function normalizeBusId(id: string): string {
  const parts = id.trim().toLowerCase().split(':');
  if (parts.length < 3) return id.trim().toLowerCase();
  const [domain, bus, devfn] = parts.slice(-3) as [string, string, string];
  return `${Number.parseInt(domain, 16)}:${bus}:${devfn.split('.')[0]}`;
}

/** Xid lines of the kernel log (`NVRM: Xid (PCI:0000:3b:00): 79, pid=..., GPU has fallen off the bus.`). */
export function parseXidLines(text: string): Array<{ busId: string; code: number; line: string }> {
  const found: Array<{ busId: string; code: number; line: string }> = [];
  for (const line of text.split('\n')) {
    const m = /NVRM: Xid \(PCI:([0-9a-fA-F:.]+)\): (\d+)/.exec(line);
    if (m) found.push({ busId: normalizeBusId(m[1]!), code: Number(m[2]), line: line.trim() });
  }
  return found;
}

/** Reads `rocm-smi --showuse --showmeminfo vram --json`: one `cardN` entry per GPU. */
export function parseRocmTelemetry(output: string): GpuSample[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(output);
  } catch {
    throw bad('rocm-smi', 'the output is not JSON', output);
  }
  const samples: GpuSample[] = [];
  for (const [key, value] of Object.entries(parsed as Record<string, Record<string, string>>)) {
    const m = /^card(\d+)$/.exec(key);
    if (!m || typeof value !== 'object' || value === null) continue;
    const util = num(value['GPU use (%)']);
    const total = num(value['VRAM Total Memory (B)']);
    const used = num(value['VRAM Total Used Memory (B)']);
    samples.push({
      index: Number(m[1]),
      uuid: value['Unique ID'] ?? null,
      utilization: util === null ? null : util / 100,
      memoryUsedMb: used === null ? null : used / 2 ** 20,
      memoryTotalMb: total === null ? null : total / 2 ** 20,
      eccUncorrected: null,
      xids: [],
    });
  }
  return samples.sort((a, b) => a.index - b.index);
}

/**
 * Reads `powermetrics --samplers gpu_power`: Apple Silicon has one GPU and unified memory, so only
 * the utilisation (the "GPU HW active residency", or "GPU active residency" on older macOS) is
 * known; memory is null.
 */
export function parsePowermetrics(output: string): GpuSample[] {
  const m = /GPU (?:HW )?active residency:\s*([\d.]+)\s*%/i.exec(output);
  if (!m) throw bad('powermetrics', 'no "GPU HW active residency" line', output);
  return [{ index: 0, uuid: null, utilization: Number(m[1]) / 100, memoryUsedMb: null, memoryTotalMb: null, eccUncorrected: null, xids: [] }];
}

/**
 * The fake-GPU telemetry file a test (or a demo) writes: JSON `{"gpus": [{"index": 0,
 * "utilization": 0.93, "memoryUsedMb": 20480, "eccUncorrected": 0, "xids": [79]}]}`. A GPU left
 * out of the list has disappeared. Utilisation may also be given as `utilizationPercent`.
 */
export function parseFakeTelemetry(output: string): GpuSample[] {
  let parsed: { gpus?: unknown };
  try {
    parsed = JSON.parse(output) as { gpus?: unknown };
  } catch {
    throw bad('telemetry file', 'is not JSON', output);
  }
  if (!Array.isArray(parsed.gpus)) throw bad('telemetry file', 'has no "gpus" list', output);
  return parsed.gpus.map((g: Record<string, unknown>) => {
    if (!Number.isInteger(g.index)) throw bad('telemetry file', 'every GPU needs an integer "index"', output);
    const util = typeof g.utilization === 'number' ? g.utilization : typeof g.utilizationPercent === 'number' ? g.utilizationPercent / 100 : null;
    return {
      index: g.index as number,
      uuid: typeof g.uuid === 'string' ? g.uuid : null,
      utilization: util,
      memoryUsedMb: typeof g.memoryUsedMb === 'number' ? g.memoryUsedMb : null,
      memoryTotalMb: typeof g.memoryTotalMb === 'number' ? g.memoryTotalMb : null,
      eccUncorrected: typeof g.eccUncorrected === 'number' ? g.eccUncorrected : null,
      xids: Array.isArray(g.xids) ? g.xids.filter((x): x is number => Number.isInteger(x)) : [],
    };
  });
}
