// Trace readers: the Philly CSV (Pollux/Helios preprocessing), the DIR-LAB Philly file (with users)
// and a generic CSV with a column map, each turned into plain TraceJobs. Pure: text in, jobs out.
// Always: a row that cannot be read is counted in `bad` (row number + why, 1-based, header = row 1)
// and skipped, never fatal; every job has submit ≥ 0 (seconds from the trace's first submission),
// duration > 0 and gpus a whole number ≥ 1; jobs are sorted by submit, then by their row.

import { StintError } from '../core/errors.js';

export interface TraceJob {
  id: number;
  /** Seconds after the trace's first submission. */
  submit: number;
  /** Seconds the job runs when it runs uninterrupted. */
  duration: number;
  gpus: number;
  /** Who the job is charged to (Philly: the virtual cluster). */
  tenant: string;
  user: string;
}

export interface BadRow {
  row: number;
  reason: string;
}

export interface Trace {
  jobs: TraceJob[];
  bad: BadRow[];
  /** Epoch seconds of submit 0 (null when the trace has only relative times). */
  epoch: number | null;
}

export type TraceFormat = 'philly' | 'dirlab' | 'csv';
export const TRACE_FORMATS: readonly TraceFormat[] = ['philly', 'dirlab', 'csv'];

/** Column map of the generic CSV: field -> column name in the header. */
export interface ColumnMap {
  submit: string;
  duration: string;
  gpus: string;
  tenant?: string;
  user?: string;
}

const COLUMN_FIELDS = ['submit', 'duration', 'gpus', 'tenant', 'user'] as const;

/** Parses `submit=ts,duration=run,gpus=n,tenant=vc` (the --columns flag). */
export function parseColumnMap(text: string): ColumnMap {
  const map: Partial<Record<(typeof COLUMN_FIELDS)[number], string>> = {};
  for (const part of text.split(',')) {
    const [key, column] = part.split('=').map((s) => s.trim());
    if (!key || !column || !(COLUMN_FIELDS as readonly string[]).includes(key)) {
      throw new StintError('INVALID_REQUEST', `--columns: "${part}" is not valid; expected FIELD=COLUMN with FIELD one of ${COLUMN_FIELDS.join(', ')}`, { field: '--columns', value: part });
    }
    map[key as (typeof COLUMN_FIELDS)[number]] = column;
  }
  for (const needed of ['submit', 'duration', 'gpus'] as const) {
    if (!map[needed]) throw new StintError('INVALID_REQUEST', `--columns: "${needed}" is missing; expected at least submit=..,duration=..,gpus=..`, { field: '--columns', value: text });
  }
  return map as ColumnMap;
}

interface Raw {
  row: number;
  submit: number;
  duration: number;
  gpus: number;
  tenant: string;
  user: string;
}

function splitLines(text: string): string[] {
  return text.split(/\r?\n/);
}

/** A time: plain seconds, or a date such as `2017-10-09 07:01:55` (read as UTC). */
function parseTime(text: string): number {
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  const iso = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})?$/.test(text) ? `${text.replace(' ', 'T')}Z` : text;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? NaN : ms / 1000;
}

/** Why the numbers cannot make a job, or null when they can. */
function invalid(submit: number, duration: number, gpus: number): string | null {
  if (!Number.isFinite(submit)) return 'submit time is not a number or a date';
  if (!Number.isFinite(duration) || duration <= 0) return 'duration must be a number > 0';
  if (!Number.isInteger(gpus) || gpus < 1) return 'GPUs must be a whole number ≥ 1';
  return null;
}

function finish(raws: Raw[], bad: BadRow[], absolute: boolean): Trace {
  raws.sort((a, b) => a.submit - b.submit || a.row - b.row);
  const first = raws[0]?.submit ?? 0;
  const jobs = raws.map((r, i) => ({ id: i + 1, submit: r.submit - first, duration: r.duration, gpus: r.gpus, tenant: r.tenant, user: r.user }));
  return { jobs, bad, epoch: absolute && raws.length > 0 ? first : null };
}

function headerIndex(header: string, wanted: readonly string[], format: string): Map<string, number> {
  const names = header.split(',').map((s) => s.trim());
  const index = new Map(names.map((name, i) => [name, i]));
  for (const name of wanted) {
    if (!index.has(name)) throw new StintError('INVALID_REQUEST', `--format ${format}: the header has no column "${name}" (it has: ${names.join(', ')})`, { field: '--format', value: format });
  }
  return index;
}

/** Reads rows of a CSV with a header; `make` returns a job or the reason it cannot. */
function readRows(text: string, wanted: readonly string[], format: string, make: (cells: string[], col: (name: string) => string, row: number) => Raw | string): { raws: Raw[]; bad: BadRow[] } {
  const lines = splitLines(text);
  const index = headerIndex(lines[0] ?? '', wanted, format);
  const raws: Raw[] = [];
  const bad: BadRow[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const cells = line.split(',');
    const col = (name: string) => (cells[index.get(name)!] ?? '').trim();
    const made = make(cells, col, i + 1);
    if (typeof made === 'string') bad.push({ row: i + 1, reason: made });
    else raws.push(made);
  }
  return { raws, bad };
}

/** Philly (Pollux preprocessing): timestamp,duration,num_gpus,gpu_time,cluster; tenant = cluster. */
export function readPhilly(text: string): Trace {
  const { raws, bad } = readRows(text, ['timestamp', 'duration', 'num_gpus', 'cluster'], 'philly', (_, col, row) => {
    const submit = parseTime(col('timestamp'));
    const duration = Number(col('duration'));
    const gpus = Number(col('num_gpus'));
    const tenant = col('cluster');
    const why = invalid(submit, duration, gpus) ?? (tenant === '' ? 'no cluster (tenant)' : null);
    return why ?? { row, submit, duration, gpus, tenant, user: tenant };
  });
  return finish(raws, bad, true);
}

/** DIR-LAB Philly: interval = seconds since the previous submission; tenant = user. */
export function readDirlab(text: string): Trace {
  let clock = 0;
  const { raws, bad } = readRows(text, ['user', 'gpu_num', 'interval', 'run_time'], 'dirlab', (_, col, row) => {
    const interval = Number(col('interval'));
    if (Number.isFinite(interval) && interval >= 0) clock += interval;
    else return 'interval must be a number ≥ 0';
    const duration = Number(col('run_time'));
    const gpus = Number(col('gpu_num'));
    const user = col('user');
    const why = invalid(clock, duration, gpus) ?? (user === '' ? 'no user' : null);
    return why ?? { row, submit: clock, duration, gpus, tenant: `user${user}`, user: `user${user}` };
  });
  return finish(raws, bad, false);
}

/** A generic CSV: the column map names the header's columns. */
export function readCsv(text: string, columns: ColumnMap): Trace {
  const wanted = [columns.submit, columns.duration, columns.gpus, ...(columns.tenant ? [columns.tenant] : []), ...(columns.user ? [columns.user] : [])];
  let absolute = false;
  const { raws, bad } = readRows(text, wanted, 'csv', (_, col, row) => {
    const submitText = col(columns.submit);
    const submit = parseTime(submitText);
    if (!/^-?\d+(\.\d+)?$/.test(submitText)) absolute = true;
    const duration = Number(col(columns.duration));
    const gpus = Number(col(columns.gpus));
    const tenant = columns.tenant ? col(columns.tenant) : 'default';
    const user = columns.user ? col(columns.user) : tenant;
    return invalid(submit, duration, gpus) ?? { row, submit, duration, gpus, tenant: tenant || 'default', user: user || tenant || 'default' };
  });
  return finish(raws, bad, absolute);
}

export function readTrace(text: string, format: TraceFormat, columns?: ColumnMap): Trace {
  switch (format) {
    case 'philly':
      return readPhilly(text);
    case 'dirlab':
      return readDirlab(text);
    case 'csv':
      if (!columns) throw new StintError('INVALID_REQUEST', '--format csv needs --columns submit=..,duration=..,gpus=..[,tenant=..][,user=..]', { field: '--columns' });
      return readCsv(text, columns);
  }
}
