// Maps a Slurm job record to what stint knows of an attempt. Pure. Every Slurm base state has a
// case; an unknown one is reported as running (never as an end: only Slurm ending a job ends it).
// Exit codes stay exact: a normal exit keeps its code; a signal is named (exit code null), except
// the 128+N status that a task killed by signal N leaves in the wrapper, which keeps its code and
// names the signal as well (as the local backend does). SIG_OOM (125), Slurm's mark for a step the
// OOM killer hit, makes the end an out_of_memory.

import { constants } from 'node:os';
import type { AttemptStatus } from '../backend.js';
import { expandHostlist, type ExitStatus, type SlurmJobRecord } from './records.js';

/** Slurm's SIG_OOM (253 & 0x7f): a step was killed by the OOM killer. */
export const SIG_OOM = 125;

export const QUEUED_STATES: ReadonlySet<string> = new Set(['PENDING', 'REQUEUED', 'REQUEUE_HOLD', 'REQUEUE_FED', 'RESV_DEL_HOLD', 'CONFIGURING']);
const RUNNING = new Set(['RUNNING', 'COMPLETING', 'SUSPENDED', 'STOPPED', 'SIGNALING', 'STAGE_OUT', 'RESIZING', 'POWER_UP_NODE', 'UPDATE_DB']);

export function signalName(n: number): string | null {
  for (const [name, value] of Object.entries(constants.signals)) if (value === n) return name;
  return null;
}

function describeExit(exit: ExitStatus | null): { exitCode: number | null; signal: string | null } {
  if (!exit) return { exitCode: null, signal: null };
  if (exit.signal !== null) return { exitCode: null, signal: exit.signal === SIG_OOM ? null : signalName(exit.signal) ?? `signal ${exit.signal}` };
  const code = exit.code;
  const viaShell = code !== null && code > 128 && code < 128 + 65 ? signalName(code - 128) : null;
  return { exitCode: code, signal: viaShell };
}

function ended(record: SlurmJobRecord, reason: Extract<AttemptStatus, { state: 'ended' }>['reason'], detail: string): AttemptStatus {
  return { state: 'ended', ...describeExit(record.exit), reason, detail, restarts: record.restarts };
}

function oomHit(record: SlurmJobRecord): boolean {
  return record.exit?.signal === SIG_OOM || record.derived?.signal === SIG_OOM;
}

export function attemptStatus(record: SlurmJobRecord): AttemptStatus {
  const state = record.state;
  const flags = record.flags;
  const restarts = record.restarts;
  // 23.02+ keeps the base state and adds flags: COMPLETED+COMPLETING is not over yet.
  if (flags.includes('COMPLETING') && !QUEUED_STATES.has(state)) return { state: 'running', nodes: expandHostlist(record.nodes), restarts };
  if (QUEUED_STATES.has(state) || flags.includes('REQUEUED')) {
    const why = record.reason && record.reason !== 'None' ? record.reason : state === 'PENDING' ? 'Pending' : state;
    return { state: 'queued', reason: restarts > 0 && why === 'BeginTime' ? 'Requeued (BeginTime)' : why, restarts };
  }
  if (RUNNING.has(state)) return { state: 'running', nodes: expandHostlist(record.nodes), restarts };
  const exit = describeExit(record.exit);
  switch (state) {
    case 'COMPLETED':
      return ended(record, 'exit', 'exit code 0');
    case 'FAILED':
      if (oomHit(record)) return ended(record, 'out_of_memory', 'a process of the job was killed for exceeding its memory (Slurm: OUT_OF_MEMORY in a step)');
      return ended(record, 'exit', exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.exitCode}`);
    case 'CANCELLED':
      return ended(record, 'cancelled', `cancelled in Slurm${record.reason !== 'None' ? ` (${record.reason})` : ''}`);
    case 'TIMEOUT':
      return ended(record, 'timeout', 'reached its Slurm time limit (max_runtime)');
    case 'DEADLINE':
      return ended(record, 'timeout', 'reached its Slurm deadline');
    case 'NODE_FAIL':
      return ended(record, 'node_failure', `a node of the job failed (Slurm: NODE_FAIL${record.nodes ? ` on ${record.nodes}` : ''})`);
    case 'BOOT_FAIL':
      return ended(record, 'launch_failed', 'a node failed to boot (Slurm: BOOT_FAIL)');
    case 'PREEMPTED':
      return ended(record, 'preempted', 'preempted by Slurm');
    case 'OUT_OF_MEMORY':
      return ended(record, 'out_of_memory', 'exceeded its memory limit (Slurm: OUT_OF_MEMORY)');
    case 'SPECIAL_EXIT':
      return ended(record, 'exit', `Slurm held the job after a special exit (${exit.exitCode ?? exit.signal})`);
    default:
      return { state: 'running', nodes: expandHostlist(record.nodes), restarts };
  }
}
