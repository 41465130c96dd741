// Output for humans: aligned tables, relative times, colour only on a terminal. Pure functions;
// the commands decide what to print.

import { safeField } from './terminal-safe.js';

export interface Style {
  color: boolean;
}

const CODES = { red: 31, green: 32, yellow: 33, blue: 34, gray: 90, bold: 1 } as const;

export function paint(style: Style, color: keyof typeof CODES, text: string): string {
  return style.color ? `\u001b[${CODES[color]}m${text}\u001b[0m` : text;
}

const STATE_COLORS: Record<string, keyof typeof CODES> = {
  PENDING: 'yellow',
  STARTING: 'blue',
  RUNNING: 'blue',
  SUCCEEDED: 'green',
  FAILED: 'red',
  CANCELLED: 'gray',
};

export function paintState(style: Style, state: string): string {
  return paint(style, STATE_COLORS[state] ?? 'bold', state);
}

const ANSI = /\u001b\[[0-9;]*m/g;

/** Aligns columns; cells may contain colour codes, which take no width; other controls are shown, never sent. */
export function table(header: string[], unsafeRows: string[][], style: Style): string {
  const rows = unsafeRows.map((row) => row.map(safeField));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').replace(ANSI, '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell + ' '.repeat(widths[i]! - cell.replace(ANSI, '').length)))
      .join('  ')
      .trimEnd();
  return [paint(style, 'bold', line(header)), ...rows.map(line)].join('\n');
}

/** "just now", "3 min ago", "in ~12 min", "2 h ago", "5 days ago". */
export function relativeTime(iso: string | null, now: number): string {
  if (iso === null) return '-';
  const delta = Date.parse(iso) - now;
  const future = delta > 0;
  const seconds = Math.abs(delta) / 1000;
  if (seconds < 10) return future ? 'now' : 'just now';
  const amount = humanDuration(seconds);
  return future ? `in ~${amount}` : `${amount} ago`;
}

export function humanDuration(seconds: number): string {
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 86400) return `${Math.round(seconds / 360) / 10} h`;
  const days = Math.round(seconds / 8640) / 10;
  return `${days} ${days === 1 ? 'day' : 'days'}`;
}

/** How long a job has run (or ran), for the queue table. */
export function elapsed(startedAt: string | null, endedAt: string | null, now: number): string {
  if (startedAt === null) return '-';
  const end = endedAt === null ? now : Date.parse(endedAt);
  return humanDuration(Math.max(0, (end - Date.parse(startedAt)) / 1000));
}
