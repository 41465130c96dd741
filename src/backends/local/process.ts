// Runs one attempt as real processes that outlive the server. A small bash wrapper, detached in
// its own session, starts the job script in a new process group (bash job control), waits for it
// and writes the exit status to a file with an atomic rename. So a job killed with the server
// still finishes, and on restart its true exit code is read from that file. The job's process
// group is what cancel and timeouts signal; the wrapper is never signalled.

import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface ProcessHandle {
  dir: string;
  wrapperPid: number;
  /** Linux process start time (clock ticks since boot) of the wrapper, to detect PID reuse. */
  wrapperStart: number | null;
}

export type ProcessStatus =
  | { state: 'running' }
  | { state: 'exited'; exitCode: number; signal: string | null }
  | { state: 'lost' };

const WRAPPER = `set -m
bash "$STINT_ATTEMPT_DIR/job.sh" >>"$STINT_ATTEMPT_DIR/output.log" 2>&1 </dev/null &
child=$!
echo "$child" >"$STINT_ATTEMPT_DIR/pgid"
wait "$child"
code=$?
echo "$code" >"$STINT_ATTEMPT_DIR/exit.tmp" && mv "$STINT_ATTEMPT_DIR/exit.tmp" "$STINT_ATTEMPT_DIR/exit"
`;

const JOB_SCRIPT = `cd "$STINT_WORKDIR" || exit 97
if [ -s "$STINT_ATTEMPT_DIR/setup.sh" ]; then
  bash "$STINT_ATTEMPT_DIR/setup.sh" || { code=$?; echo "stint: setup failed with exit code $code" >&2; exit $code; }
fi
if [ -s "$STINT_ATTEMPT_DIR/run.sh" ]; then
  exec bash "$STINT_ATTEMPT_DIR/run.sh"
fi
`;

export interface StartOptions {
  dir: string;
  workdir: string;
  setup: string | null;
  run: string | null;
  env: Record<string, string>;
  onExit: () => void;
}

export async function startProcess(options: StartOptions): Promise<ProcessHandle> {
  await mkdir(options.dir, { recursive: true });
  await Promise.all([
    writeFile(join(options.dir, 'job.sh'), JOB_SCRIPT),
    writeFile(join(options.dir, 'setup.sh'), options.setup ?? ''),
    writeFile(join(options.dir, 'run.sh'), options.run ?? ''),
  ]);
  const child = spawn('bash', ['-c', WRAPPER], {
    detached: true,
    stdio: 'ignore',
    env: { ...baseEnvironment(), ...options.env, STINT_ATTEMPT_DIR: options.dir, STINT_WORKDIR: options.workdir },
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not start bash for the job wrapper');
  child.once('exit', options.onExit);
  child.unref();
  return { dir: options.dir, wrapperPid: pid, wrapperStart: processStartTime(pid) };
}

/** Only what a login shell would have: the server's own variables do not leak into jobs. */
function baseEnvironment(): Record<string, string> {
  const keep = ['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'TERM'];
  const env: Record<string, string> = {};
  for (const key of keep) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  return env;
}

export function processStatus(handle: ProcessHandle): ProcessStatus {
  const exited = readExit(handle.dir);
  if (exited) return exited;
  if (isAlive(handle)) return { state: 'running' };
  // The wrapper may have written the file between the two checks.
  return readExit(handle.dir) ?? { state: 'lost' };
}

function readExit(dir: string): ProcessStatus | null {
  const path = join(dir, 'exit');
  if (!existsSync(path)) return null;
  const code = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
  if (!Number.isFinite(code)) return { state: 'lost' };
  // bash reports a child killed by signal N as 128+N.
  const signal = code > 128 && code < 128 + 65 ? signalName(code - 128) : null;
  return { state: 'exited', exitCode: code, signal };
}

function isAlive(handle: ProcessHandle): boolean {
  try {
    process.kill(handle.wrapperPid, 0);
  } catch {
    return false;
  }
  if (handle.wrapperStart === null) return true;
  return processStartTime(handle.wrapperPid) === handle.wrapperStart;
}

function processStartTime(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22 (starttime) counted after the parenthesised command name, which may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const start = Number(fields[19]);
    return Number.isFinite(start) ? start : null;
  } catch {
    return null;
  }
}

/** Signals the job's whole process group. Returns false when the group is not known or gone. */
export async function signalGroup(handle: ProcessHandle, signal: 'SIGTERM' | 'SIGKILL'): Promise<boolean> {
  let pgid: number;
  try {
    pgid = Number.parseInt((await readFile(join(handle.dir, 'pgid'), 'utf8')).trim(), 10);
  } catch {
    return false;
  }
  if (!Number.isFinite(pgid) || pgid <= 1) return false;
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

function signalName(n: number): string {
  const names: Record<number, string> = { 1: 'SIGHUP', 2: 'SIGINT', 3: 'SIGQUIT', 6: 'SIGABRT', 9: 'SIGKILL', 11: 'SIGSEGV', 13: 'SIGPIPE', 14: 'SIGALRM', 15: 'SIGTERM' };
  return names[n] ?? `SIG${n}`;
}
