// Reads Slurm's job listings into one record shape: `scontrol show job -o` lines, `squeue --json` in the Slurm 22.05 form
// (openapi v0.0.38: job_state a string, numbers plain, exit codes raw wait statuses), the 23.02
// form (data_parser v0.0.39: numbers as {set, infinite, number}, exit codes a wrapped raw status)
// and the 23.11+ form (v0.0.40+: job_state an array of base state + flags, exit codes
// {status, return_code, signal}), and `sacct -P` rows
// (`sacct -c` of jobcomp/filetxt gives the same columns). Pure; a record the parser cannot read
// is skipped rather than guessed.

export interface ExitStatus {
  /** The exit code when the process exited, else null. */
  code: number | null;
  /** The terminating signal number, else null. */
  signal: number | null;
}

export interface SlurmJobRecord {
  jobId: number;
  name: string;
  /** Base state, upper-case: PENDING, RUNNING, COMPLETED, FAILED, ... */
  state: string;
  /** State flags (23.02+ arrays, e.g. COMPLETING, REQUEUED); empty when unknown. */
  flags: string[];
  reason: string;
  restarts: number;
  /** Node list expression, e.g. n[1-2]; '' when none. */
  nodes: string;
  exit: ExitStatus | null;
  derived: ExitStatus | null;
  /** The job's working directory (stint submits with --chdir=<workdir>/jobs/<id>); absent when the listing has none. */
  workDir?: string;
}

type Json = Record<string, unknown>;

/** A v0.0.40+ number ({set, infinite, number}) or a plain number; null when unset or infinite. */
export function slurmNumber(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (value && typeof value === 'object') {
    const v = value as Json;
    if (v.set === false || v.infinite === true) return null;
    return typeof v.number === 'number' ? v.number : null;
  }
  return null;
}

/** 22.05: a raw wait status (code << 8 | signal); 23.02+: {status, return_code, signal: {id}}. */
export function exitStatus(value: unknown): ExitStatus | null {
  if (typeof value === 'number') {
    const signal = value & 0x7f;
    return signal !== 0 ? { code: null, signal } : { code: (value >> 8) & 0xff, signal: null };
  }
  if (value && typeof value === 'object') {
    const v = value as Json;
    // 23.02 (v0.0.39) wraps the raw wait status: {set, infinite, number}
    if ('number' in v && !('return_code' in v)) {
      const raw = slurmNumber(v);
      return raw === null ? null : exitStatus(raw);
    }
    const signalObj = v.signal as Json | undefined;
    const signal = slurmNumber(signalObj?.id ?? null);
    const status = Array.isArray(v.status) ? v.status.map(String) : typeof v.status === 'string' ? [v.status] : [];
    if (signal !== null && signal !== 0) return { code: null, signal };
    if (status.includes('PENDING')) return null;
    return { code: slurmNumber(v.return_code), signal: null };
  }
  return null;
}

function stateOf(value: unknown): { state: string; flags: string[] } {
  if (Array.isArray(value)) {
    const words = value.map((w) => String(w).toUpperCase());
    return { state: words[0] ?? 'UNKNOWN', flags: words.slice(1) };
  }
  return { state: typeof value === 'string' ? value.toUpperCase() : 'UNKNOWN', flags: [] };
}

export function parseSqueueJson(text: string): SlurmJobRecord[] {
  const doc = JSON.parse(text) as Json;
  const jobs = Array.isArray(doc.jobs) ? (doc.jobs as Json[]) : [];
  const records: SlurmJobRecord[] = [];
  for (const job of jobs) {
    const jobId = slurmNumber(job.job_id);
    if (jobId === null) continue;
    const { state, flags } = stateOf(job.job_state);
    records.push({
      jobId,
      name: typeof job.name === 'string' ? job.name : '',
      state,
      flags,
      reason: typeof job.state_reason === 'string' ? job.state_reason : 'None',
      restarts: slurmNumber(job.restart_cnt) ?? 0,
      nodes: typeof job.nodes === 'string' ? job.nodes : '',
      exit: exitStatus(job.exit_code),
      derived: exitStatus(job.derived_exit_code),
      ...(typeof job.current_working_directory === 'string' && { workDir: job.current_working_directory }),
    });
  }
  return records;
}

/** The columns requested from sacct (and sacct -c), in this order. */
export const SACCT_FIELDS = 'JobIDRaw,JobName,State,ExitCode,DerivedExitCode,NodeList,Reason';

/** `N:S` → exit code N, signal S (a signal means the code is meaningless). */
export function colonExit(text: string): ExitStatus | null {
  const m = /^(\d+):(\d+)$/.exec(text.trim());
  if (!m) return null;
  const signal = Number(m[2]);
  return signal !== 0 ? { code: null, signal } : { code: Number(m[1]), signal: null };
}

/** `sacct -n -P -o SACCT_FIELDS` rows; steps (`12.batch`) are skipped; a later row for a job wins. */
export function parseSacct(text: string): SlurmJobRecord[] {
  const byId = new Map<number, SlurmJobRecord>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const [id = '', name = '', state = '', exit = '', derived = '', nodes = '', reason = ''] = line.split('|');
    if (!/^\d+$/.test(id)) continue;
    const jobId = Number(id);
    byId.set(jobId, {
      jobId,
      name,
      // "CANCELLED by 0" → CANCELLED
      state: (state.split(' ')[0] ?? '').toUpperCase(),
      flags: [],
      reason: reason || 'None',
      restarts: 0,
      nodes: nodes === 'None assigned' || nodes === '(null)' ? '' : nodes,
      exit: colonExit(exit),
      derived: colonExit(derived),
    });
  }
  return [...byId.values()];
}

/**
 * `scontrol show job -o`: one `Key=Value ...` line per job (stable across Slurm versions, and about
 * 4x cheaper than `squeue --json` at 5,000 jobs). A value may contain spaces
 * (`Reason=ReqNodeNotAvail, UnavailableNodes:n1`), so a field ends where the next ` Key=` starts.
 */
export function parseScontrolJobs(text: string): SlurmJobRecord[] {
  const records: SlurmJobRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('JobId=')) continue;
    const fields = new Map<string, string>();
    for (const part of line.trim().split(/ (?=[A-Za-z][A-Za-z0-9_/:]*=)/)) {
      const eq = part.indexOf('=');
      if (eq > 0 && !fields.has(part.slice(0, eq))) fields.set(part.slice(0, eq), part.slice(eq + 1));
    }
    const jobId = Number(fields.get('JobId'));
    if (!Number.isInteger(jobId)) continue;
    const nodes = fields.get('NodeList') ?? '';
    records.push({
      jobId,
      name: fields.get('JobName') ?? '',
      state: (fields.get('JobState') ?? 'UNKNOWN').toUpperCase(),
      flags: [],
      reason: fields.get('Reason') ?? 'None',
      restarts: Number(fields.get('Restarts') ?? 0) || 0,
      nodes: nodes === '(null)' ? '' : nodes,
      exit: colonExit(fields.get('ExitCode') ?? ''),
      derived: colonExit(fields.get('DerivedExitCode') ?? ''),
      ...(fields.has('WorkDir') && { workDir: fields.get('WorkDir') }),
    });
  }
  return records;
}

/** Expands a Slurm host list: `n[1-3,5],gpu-a[01-02]` → n1 n2 n3 n5 gpu-a01 gpu-a02. */
export function expandHostlist(list: string): string[] {
  const out: string[] = [];
  for (const part of splitTopLevel(list)) {
    const m = /^([^[]*)\[([^\]]+)\](.*)$/.exec(part);
    if (!m) {
      if (part) out.push(part);
      continue;
    }
    const [, prefix = '', ranges = '', suffix = ''] = m;
    for (const range of ranges.split(',')) {
      const [from = '', to = from] = range.split('-');
      const width = from.length;
      for (let i = Number(from); i <= Number(to); i++) {
        for (const rest of expandHostlist(suffix || '')) out.push(`${prefix}${String(i).padStart(width, '0')}${rest}`);
        if (!suffix) out.push(`${prefix}${String(i).padStart(width, '0')}`);
      }
    }
  }
  return out;
}

function splitTopLevel(list: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of list) {
    if (ch === '[') depth++;
    if (ch === ']') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}
