// Reads the numeric forms of a task file: CPU counts (`4`, `4+`, "4"), sizes (`32`, `32+`, `32GB`,
// `32GiB`, `1TB`), durations (`90`, "90s", "1h30m", "1d") and ports (`8080`, "8080-8090", lists).
// Sizes are normalised to GB. Like SkyPilot, a unit's decimal and binary spellings mean the same
// thing (GB = GiB = 2^30 bytes, so 1TB = 1024 GB); a bare number is GB.
// Invariant: every value returned is finite, positive and within its field's bounds (CPUs up to
// MAX_CPUS, sizes up to MAX_SIZE_GB, durations up to the caller's maximum, ports 1..65535), so no
// later date arithmetic can overflow; a value outside them is refused with the accepted range,
// never clamped silently.

import { isScalar, type Node } from 'yaml';
import { addIssue, plainValue, type ParseContext } from './context.js';
import type { Quantity } from './types.js';

/** More CPUs than any machine has; a number beyond is a typo, not a request. */
export const MAX_CPUS = 100_000;
/** 1 PB. */
export const MAX_SIZE_GB = 1024 ** 2;

const SIZE_UNITS_GB: Record<string, number> = {
  k: 1 / 1024 ** 2,
  m: 1 / 1024,
  g: 1,
  t: 1024,
  p: 1024 ** 2,
};

const CPUS_ACCEPTED = 'a positive number, optionally followed by + for "at least" (4, 4+, 0.5)';
const SIZE_ACCEPTED = 'a positive size in GB: 32, 32+, 32GB, 32GiB, 1TB (+ means "at least")';
const DISK_ACCEPTED = 'a positive size in GB: 256, 256GB, 1TB';
const DURATION_ACCEPTED = 'seconds as a number, or a duration such as 90s, 30m, 2h, 1d, 1h30m';
const PORTS_ACCEPTED = 'a port (8080), a range ("8080-8090"), or a list of them';

function scalarOf(node: Node | null): unknown {
  return isScalar(node) ? node.value : undefined;
}

/** Parses `<number><unit?><+?>`; returns GB (or plain count when `units` is false). */
function parseAmount(text: string, units: boolean): Quantity | null {
  const match = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([kmgtp](?:i?b)?)?\s*(\+)?\s*$/i.exec(text);
  if (!match?.[1]) return null;
  const unit = match[2]?.[0]?.toLowerCase();
  if (unit && !units) return null;
  const value = Number(match[1]) * (unit ? (SIZE_UNITS_GB[unit] ?? 1) : 1);
  if (!(value > 0) || !Number.isFinite(value)) return null;
  return { value, orMore: match[3] === '+' };
}

function readAmount(ctx: ParseContext, node: Node | null, field: string, units: boolean, accepted: string): Quantity | null {
  const raw = scalarOf(node);
  const max = units ? MAX_SIZE_GB : MAX_CPUS;
  const quantity =
    typeof raw === 'number'
      ? raw > 0 && Number.isFinite(raw)
        ? { value: raw, orMore: false }
        : null
      : typeof raw === 'string'
        ? parseAmount(raw, units)
        : null;
  if (quantity && quantity.value <= max) return quantity;
  if (quantity) {
    const range = `at most ${max}${units ? ' GB (1 PB)' : ''}`;
    return addIssue(ctx, field, node, `must be ${range}`, { value: plainValue(ctx, node), accepted: `${accepted}, ${range}` });
  }
  return addIssue(ctx, field, node, `must be ${accepted}`, { value: plainValue(ctx, node), accepted });
}

export function readCpus(ctx: ParseContext, node: Node | null, field: string): Quantity | null {
  return readAmount(ctx, node, field, false, CPUS_ACCEPTED);
}

export function readMemoryGb(ctx: ParseContext, node: Node | null, field: string): Quantity | null {
  return readAmount(ctx, node, field, true, SIZE_ACCEPTED);
}

export function readDiskGb(ctx: ParseContext, node: Node | null, field: string): number | null {
  const quantity = readAmount(ctx, node, field, true, DISK_ACCEPTED);
  if (quantity?.orMore) return addIssue(ctx, field, node, `must be ${DISK_ACCEPTED}; + is not allowed here`, { value: plainValue(ctx, node), accepted: DISK_ACCEPTED });
  return quantity?.value ?? null;
}

const DURATION_PART_SECONDS: Record<string, number> = { d: 86400, h: 3600, m: 60, s: 1 };

/** "1h30m" → 5400; null when the text is not a duration. */
export function parseDuration(text: string): number | null {
  const trimmed = text.trim().toLowerCase();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
  if (!/^(\d+(\.\d+)?[dhms])+$/.test(trimmed)) return null;
  let total = 0;
  for (const [, amount, unit] of trimmed.matchAll(/(\d+(?:\.\d+)?)([dhms])/g)) {
    total += Number(amount) * (DURATION_PART_SECONDS[unit ?? 's'] ?? 1);
  }
  return total;
}

/** "365d", "2h30m", "45s": the longest unit that divides `seconds`, for messages. */
export function formatDuration(seconds: number): string {
  for (const [unit, size] of Object.entries(DURATION_PART_SECONDS)) if (seconds % size === 0) return `${seconds / size}${unit}`;
  return `${seconds}s`;
}

/** A duration in seconds, above 0 and at most `maxSeconds`. */
export function readDurationSeconds(ctx: ParseContext, node: Node | null, field: string, maxSeconds: number): number | null {
  const raw = scalarOf(node);
  const seconds = typeof raw === 'number' ? raw : typeof raw === 'string' ? parseDuration(raw) : null;
  if (seconds !== null && seconds > 0 && seconds <= maxSeconds) return seconds;
  const range = `above 0 and at most ${formatDuration(maxSeconds)}`;
  const message = seconds !== null && seconds > maxSeconds ? `must be at most ${formatDuration(maxSeconds)}` : `must be ${DURATION_ACCEPTED}`;
  return addIssue(ctx, field, node, message, { value: plainValue(ctx, node), accepted: `${DURATION_ACCEPTED}, ${range}` });
}

function isPort(value: number): boolean {
  return Number.isInteger(value) && value >= 1 && value <= 65535;
}

/** One port or range as a normalised string ("8080", "8080-8090"); null when invalid. */
function portText(raw: unknown): string | null {
  if (typeof raw === 'number') return isPort(raw) ? String(raw) : null;
  if (typeof raw !== 'string') return null;
  const match = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(raw);
  if (!match) return null;
  const low = Number(match[1]);
  const high = match[2] === undefined ? low : Number(match[2]);
  if (!isPort(low) || !isPort(high) || high < low) return null;
  return low === high ? String(low) : `${low}-${high}`;
}

/** `ports`: a port, a range, or a list of them; null in the file means none. */
export function readPorts(ctx: ParseContext, node: Node | null, items: Node[] | null, field: string): string[] | null {
  const sources = items ?? [node];
  const ports: string[] = [];
  for (const item of sources) {
    const text = portText(scalarOf(item));
    if (text === null) {
      addIssue(ctx, field, item, `must be ${PORTS_ACCEPTED}, with ports from 1 to 65535`, { value: plainValue(ctx, item), accepted: PORTS_ACCEPTED });
      return null;
    }
    ports.push(text);
  }
  return ports;
}
