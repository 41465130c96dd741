// Owns reading NVIDIA GPUs from `nvidia-smi --query-gpu` CSV: the exact query the local backend
// runs (no header, no units) and the header-with-units form people paste (`--format=csv`), whose
// columns may come in any order or subset as long as `name` and `memory.total` are there.
// Invariants: a row is either read whole or skipped (never a GPU with a shifted column); a field
// nvidia-smi could not read (`[N/A]`, `[Not Supported]`, `N/A`, `[Unknown Error]`) becomes
// `undefined`, never 0 or NaN; a GPU whose name or total memory is unreadable is `healthy: false`.

import type { Gpu } from '../../../core/inventory.js';
import { normalizeGpuName } from './names.js';

/** The columns we ask for, in order. */
export const NVIDIA_SMI_COLUMNS = ['index', 'uuid', 'name', 'memory.total', 'memory.used', 'utilization.gpu', 'pci.bus_id'] as const;

/** The arguments of the one query the local backend runs: `nvidia-smi ${NVIDIA_SMI_QUERY_ARGS}`. */
export const NVIDIA_SMI_QUERY_ARGS: readonly string[] = [
  `--query-gpu=${NVIDIA_SMI_COLUMNS.join(',')}`,
  '--format=csv,noheader,nounits',
];

type Column = (typeof NVIDIA_SMI_COLUMNS)[number];

/** One row of the query, before it becomes a Gpu; fields nvidia-smi could not read are undefined. */
export interface NvidiaSmiRow {
  index: number;
  uuid?: string;
  /** As reported, e.g. `NVIDIA A100-SXM4-80GB`. */
  name?: string;
  memoryTotalMb?: number;
  memoryUsedMb?: number;
  utilizationPct?: number;
  pciBusId?: string;
}

/** The names nvidia-smi accepts for the same property (`--help-query-gpu`). */
const ALIASES: Readonly<Record<string, Column>> = {
  gpu_name: 'name',
  gpu_uuid: 'uuid',
  gpu_bus_id: 'pci.bus_id',
};

function isUnavailable(value: string): boolean {
  return value === '' || /^\[.*\]$/.test(value) || /^n\/?a$/i.test(value);
}

function text(value: string | undefined): string | undefined {
  const trimmed = value?.trim() ?? '';
  return isUnavailable(trimmed) ? undefined : trimmed;
}

/** `81920`, `81920 MiB`, `0 %`, `45.5` → the number; anything else → undefined. */
function numeric(value: string | undefined): number | undefined {
  const match = text(value)?.match(/^(-?\d+(?:\.\d+)?)(?:\s*(?:MiB|%|W|MHz))?$/i);
  return match ? Number(match[1]) : undefined;
}

function splitRow(line: string): string[] {
  return line.split(',').map((field) => field.trim());
}

/** `memory.total [MiB]` → `memory.total`; unknown columns give undefined and are ignored. */
function headerColumn(cell: string): Column | undefined {
  const key = cell.replace(/\s*\[[^\]]*\]\s*$/, '').trim().toLowerCase();
  const known = (NVIDIA_SMI_COLUMNS as readonly string[]).includes(key) ? (key as Column) : undefined;
  return known ?? ALIASES[key];
}

function isHeader(line: string): boolean {
  return splitRow(line).some((cell) => headerColumn(cell) === 'memory.total') && !/^\s*\d/.test(line);
}

function rowFrom(fields: ReadonlyMap<Column, string>, position: number): NvidiaSmiRow | undefined {
  const indexText = fields.get('index');
  const index = indexText === undefined ? position : numeric(indexText);
  if (index === undefined || !Number.isInteger(index) || index < 0) return undefined;
  const row: NvidiaSmiRow = { index };
  const assign = <K extends keyof NvidiaSmiRow>(key: K, value: NvidiaSmiRow[K] | undefined): void => {
    if (value !== undefined) row[key] = value;
  };
  assign('uuid', text(fields.get('uuid')));
  assign('name', text(fields.get('name')));
  assign('memoryTotalMb', numeric(fields.get('memory.total')));
  assign('memoryUsedMb', numeric(fields.get('memory.used')));
  assign('utilizationPct', numeric(fields.get('utilization.gpu')));
  assign('pciBusId', text(fields.get('pci.bus_id')));
  return row;
}

function readRows(lines: readonly string[], columns: readonly (Column | undefined)[]): NvidiaSmiRow[] {
  const rows: NvidiaSmiRow[] = [];
  for (const line of lines) {
    const cells = splitRow(line);
    if (cells.length !== columns.length) continue;
    const fields = new Map<Column, string>();
    columns.forEach((column, i) => {
      if (column !== undefined) fields.set(column, cells[i] ?? '');
    });
    const row = rowFrom(fields, rows.length);
    if (row) rows.push(row);
  }
  return rows;
}

/**
 * Reads nvidia-smi CSV in either form: our exact query (`--format=csv,noheader,nounits`, columns
 * NVIDIA_SMI_COLUMNS), or any `--format=csv` output with a header line and units, detected by a
 * header that names `memory.total`. Lines that do not fit (messages, wrong column count) are skipped.
 */
export function parseNvidiaSmiRows(output: string): NvidiaSmiRow[] {
  const lines = output.split(/\r?\n/).map((line) => line.trim()).filter((line) => line !== '');
  const first = lines[0];
  if (first !== undefined && isHeader(first)) {
    const columns = splitRow(first).map(headerColumn);
    if (!columns.includes('name')) return [];
    return readRows(lines.slice(1), columns);
  }
  return readRows(lines, NVIDIA_SMI_COLUMNS);
}

/** Turns one row into the inventory's Gpu; unreadable name or memory → `healthy: false`. */
export function nvidiaRowToGpu(row: NvidiaSmiRow): Gpu {
  const model = row.name ?? 'unknown NVIDIA GPU';
  const gpu: Gpu = {
    index: row.index,
    name: normalizeGpuName(model),
    model,
    memoryMb: row.memoryTotalMb ?? 0,
    vendor: 'nvidia',
    healthy: row.name !== undefined && row.memoryTotalMb !== undefined && row.memoryTotalMb > 0,
  };
  if (row.uuid !== undefined) gpu.uuid = row.uuid;
  return gpu;
}

/** nvidia-smi CSV (either form, see parseNvidiaSmiRows) → the GPUs it lists, by index. */
export function parseNvidiaSmiCsv(output: string): Gpu[] {
  return parseNvidiaSmiRows(output)
    .map(nvidiaRowToGpu)
    .sort((a, b) => a.index - b.index);
}
