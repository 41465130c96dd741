// The submitter's environment carried into a job (`stint launch --export-env`, `export_env: true`),
// as `sbatch --export=ALL` carries it. One set of rules serves both sides: the CLI leaves out what
// may not be carried (`exportableEnvironment`), and the server refuses a request that carries it
// anyway (`checkExportedEnv`), since a raw API call may send anything.
// What is never carried: stint's own variables (`STINT_*`: its settings and the API token
// STINT_TOKEN), names that are not shell names (`BASH_FUNC_x%%`), what the job's host sets per
// attempt (`SLURM_*`, the GPU visibility variables) and the identity of the account the job runs
// as (HOME, USER, LOGNAME come from that account, not from the submitter's machine), and bash's
// read-only variables (UID, SHELLOPTS...), which the job's shell sets itself.
// Bounds: a value at most MAX_VALUE_LENGTH.envs characters (one exec string), at most
// MAX_VARIABLES names, and MAX_EXPORTED_TOTAL characters of names and values together, which keeps
// a submission inside the server's 2 MiB body limit beside a task file of MAX_TASK_BYTES.
// Invariant: no value ever appears in a message or in an error's details, only names and lengths.

import { StintError } from '../errors.js';
import { MAX_VALUE_LENGTH, MAX_VARIABLES } from './envs.js';

const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Names and values of an exported environment together, in UTF-16 code units. */
export const MAX_EXPORTED_TOTAL = 1024 * 1024;

const HOST_NAMES = new Set(['HOME', 'USER', 'LOGNAME', 'CUDA_VISIBLE_DEVICES', 'ROCR_VISIBLE_DEVICES', 'HIP_VISIBLE_DEVICES']);
const HOST_PREFIXES = ['SLURM_'];
const NAMES_ACCEPTED = 'a shell variable name that is not STINT_*, SLURM_*, HOME, USER, LOGNAME, a GPU visibility variable or read-only in bash';
/** bash refuses to assign these (each attempt would print "readonly variable" into its log). */
const BASH_READ_ONLY = new Set(['BASHOPTS', 'BASH_VERSINFO', 'EUID', 'PPID', 'SHELLOPTS', 'UID']);

/** Why `name` is never carried from the submitter's environment; null when it may be. */
export function notExportable(name: string): string | null {
  if (!NAME_PATTERN.test(name)) return 'is not a valid shell variable name (letters, digits and _, not starting with a digit)';
  if (name.startsWith('STINT_')) return "is one of stint's own variables (STINT_*: its settings and its token), never carried into a job";
  if (BASH_READ_ONLY.has(name)) return 'is read-only in bash (the shell sets it itself), never carried';
  if (HOST_NAMES.has(name) || HOST_PREFIXES.some((prefix) => name.startsWith(prefix))) {
    return 'is set for each job by the host it runs on (the account it runs as, its GPUs, Slurm), never carried';
  }
  return null;
}

export interface ExportSelection {
  env: Record<string, string>;
  /** Variables left out for their length (names and lengths only), for the CLI to warn about. */
  tooLong: Array<{ name: string; length: number }>;
}

/**
 * What the CLI sends of its own environment: every exportable name with a value within
 * MAX_VALUE_LENGTH.envs (longer ones are left out and listed). Too many names, or too much text
 * together, is an error naming the largest variables, so the submitter can unset them.
 */
export function exportableEnvironment(environment: Readonly<Record<string, string | undefined>>): ExportSelection {
  const env: Record<string, string> = {};
  const tooLong: ExportSelection['tooLong'] = [];
  for (const [name, value] of Object.entries(environment)) {
    if (value === undefined || notExportable(name) !== null) continue;
    if (value.length > MAX_VALUE_LENGTH.envs) tooLong.push({ name, length: value.length });
    else env[name] = value;
  }
  checkTotals(env, '--export-env', 'unset some of them before launching, or pass what the job needs with --env NAME');
  return { env, tooLong };
}

/** The server's check of a request's `exportedEnv`: 400 INVALID_REQUEST naming the field. */
export function checkExportedEnv(env: Readonly<Record<string, string>>): void {
  for (const [name, value] of Object.entries(env)) {
    const shown = name.length > 80 ? `${name.slice(0, 77)}...` : name;
    const field = `exportedEnv.${shown}`;
    const why = notExportable(name);
    if (why !== null) {
      throw new StintError('INVALID_REQUEST', `${field}: \`${shown}\` ${why}`, { field, value: shown, accepted: NAMES_ACCEPTED });
    }
    if (value.length > MAX_VALUE_LENGTH.envs) {
      const accepted = `at most ${MAX_VALUE_LENGTH.envs} characters`;
      throw new StintError('INVALID_REQUEST', `${field}: the value is ${value.length} characters long; ${accepted} are accepted`, { field, value: value.length, accepted });
    }
  }
  checkTotals(env, 'exportedEnv', 'send fewer or shorter variables');
}

function checkTotals(env: Readonly<Record<string, string>>, field: string, remedy: string): void {
  const entries = Object.entries(env);
  if (entries.length > MAX_VARIABLES) {
    const accepted = `at most ${MAX_VARIABLES} variables`;
    throw new StintError('INVALID_REQUEST', `${field}: ${entries.length} variables; ${accepted} are accepted; ${remedy}`, { field, value: entries.length, accepted });
  }
  const total = entries.reduce((sum, [name, value]) => sum + name.length + value.length, 0);
  if (total <= MAX_EXPORTED_TOTAL) return;
  const largest = entries.sort(([, a], [, b]) => b.length - a.length).slice(0, 3).map(([name, value]) => `${name} (${value.length} characters)`);
  const accepted = `at most ${MAX_EXPORTED_TOTAL} characters of names and values together`;
  throw new StintError('INVALID_REQUEST', `${field}: the environment holds ${total} characters; ${accepted} are accepted; the largest: ${largest.join(', ')}; ${remedy}`, {
    field, value: total, accepted, largest: largest.map((text) => text.split(' ')[0]),
  });
}
