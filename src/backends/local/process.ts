// Runs attempts as real processes that outlive the server. One long-lived bash "launcher" (a
// child of the server, in its own session; its text is launcher-script.ts) forks one subshell per
// attempt, which starts the job as the attempt's launch.sh says (cgroups, namespace, account):
// forking from a small bash is far cheaper than spawning from the server's large Node process
// (8-40 ms). That subshell is the leader of the attempt's own process group (bash job
// control); cancel and timeouts signal the whole group (on a confining host the final SIGKILL
// goes through the attempt's cgroup instead, backend.ts, so escapees of the group die too). Its exit status is written to `exit` with
// one write, so a job killed with the server still finishes and its true exit code is read back
// after a restart, and it reports "exited DIR" on the launcher's output as a wake-up hint; polling
// the files stays the truth.
// Invariants: the server signals only the group it created — the leader pid it was told by its
// own launcher (the handle), checked against the leader's start time — and never a pid read from a
// file the job can write; the job's environment (env.sh, with secrets) reaches only the job's own
// shell, on a file descriptor, and its file is removed once the attempt has started.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { type Account, createAttemptFile, readStateFile } from './attempt-files.js';
import { HELPERS, type LaunchPlan, launchLine, launchPlanText, launcherArgs } from './launcher-script.js';

export interface ProcessHandle {
  dir: string;
  /** The attempt's process-group leader; null when the launch was never recorded (a crash mid-launch). */
  wrapperPid: number | null;
  /** Linux process start time (clock ticks since boot) of the wrapper, to detect PID reuse. */
  wrapperStart: number | null;
}

export type ProcessStatus =
  | { state: 'running' }
  | { state: 'exited'; exitCode: number; signal: string | null }
  | { state: 'lost' }
  /** The launcher never forked it (the server died between recording and starting it). */
  | { state: 'never_started' };

export interface StartOptions {
  dir: string;
  workdir: string;
  setup: string | null;
  run: string | null;
  env: Record<string, string>;
  /** Run as this account (a root server): the job drops to it with setpriv before its environment exists. */
  runAs?: Account | null;
  /** How the root part starts the job (cgroups, mount namespace, container); written to launch.sh. */
  plan: LaunchPlan;
}

export class ProcessLauncher {
  private child: ChildProcessWithoutNullStreams | null = null;
  private readonly starting = new Map<string, { resolve: (pid: number) => void; reject: (e: Error) => void }>();
  private partial = '';

  /** `pidFile` records the launcher (pid and start time), so the next server can wait for it to finish. */
  constructor(
    private readonly onExited: () => void,
    private readonly pidFile: string,
  ) {}

  /**
   * Waits until the launcher of a previous server (killed or stopped) has exited. It reads the
   * attempts handed to it before its server died, forks them and writes their pgid files, then
   * sees the end of its input and exits; after that, an attempt without a pgid file was never
   * started, and may be started again without ever running twice.
   */
  static async awaitPrevious(pidFile: string, timeoutMs = 10_000): Promise<void> {
    let recorded: [number, number | null];
    try {
      const [pid, start] = readFileSync(pidFile, 'utf8').trim().split(' ');
      recorded = [Number(pid), start === undefined || start === 'null' ? null : Number(start)];
    } catch {
      return;
    }
    const [pid, start] = recorded;
    const deadline = Date.now() + timeoutMs;
    while (Number.isInteger(pid) && pid > 1 && isAlive({ dir: '', wrapperPid: pid, wrapperStart: start }) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async start(options: StartOptions): Promise<ProcessHandle> {
    const isolate = /\btrap\b/.test(`${options.setup ?? ''}\n${options.run ?? ''}`);
    const env = { ...baseEnvironment(), ...options.env, STINT_WORKDIR: options.workdir, STINT_ATTEMPT_DIR: options.dir, ...(isolate && { STINT_ISOLATE_RUN: '1' }) };
    const line = launchLine(options.dir);
    await Promise.all([
      createAttemptFile(join(options.dir, 'launch.sh'), launchPlanText(options.plan)),
      createAttemptFile(join(options.dir, 'env.sh'), withoutNul(shellExports(env))),
      createAttemptFile(join(options.dir, 'setup.sh'), withoutNul(options.setup ?? '')),
      createAttemptFile(join(options.dir, 'run.sh'), withoutNul(options.run ?? '')),
      createAttemptFile(join(options.dir, 'output.log'), '', options.runAs ?? null),
    ]);
    const launcher = this.launcher();
    const pid = await new Promise<number>((resolve, reject) => {
      this.starting.set(options.dir, { resolve, reject });
      // Referenced while a start is awaited, so the process waits for the answer.
      (launcher.stdout as unknown as Socket).ref();
      launcher.stdin.write(line);
    }).finally(async () => {
      if (this.starting.size === 0) (launcher.stdout as unknown as Socket).unref();
      // Started: the attempt's shell holds env.sh open on a descriptor. Failed: nothing needs it.
      await rm(join(options.dir, 'env.sh'), { force: true });
    });
    return { dir: options.dir, wrapperPid: pid, wrapperStart: processStartTime(pid) };
  }

  close(): void {
    this.child?.stdin.end();
    this.child = null;
  }

  private launcher(): ChildProcessWithoutNullStreams {
    if (this.child && this.child.exitCode === null) return this.child;
    const child = spawn(HELPERS.bash, launcherArgs(), { detached: true, cwd: '/', stdio: ['pipe', 'pipe', 'ignore'], env: baseEnvironment() }) as unknown as ChildProcessWithoutNullStreams;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => this.read(chunk));
    child.stdin.on('error', () => undefined);
    child.once('exit', () => {
      if (this.child === child) this.child = null;
      for (const waiter of this.starting.values()) waiter.reject(new Error('the process launcher exited'));
      this.starting.clear();
    });
    // Neither the launcher nor its pipes keep the server alive.
    child.unref();
    (child.stdout as unknown as Socket).unref();
    (child.stdin as unknown as Socket).unref();
    this.child = child;
    if (child.pid !== undefined) writeFileSync(this.pidFile, `${child.pid} ${processStartTime(child.pid)}\n`, { mode: 0o600 });
    return child;
  }

  private read(chunk: string): void {
    const lines = (this.partial + chunk).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line.startsWith('exited ')) {
        this.onExited();
        continue;
      }
      const failed = /^failed (.*)$/.exec(line);
      if (failed) {
        this.starting.get(failed[1]!)?.reject(new Error(`the launcher could not open the files of ${failed[1]}`));
        this.starting.delete(failed[1]!);
        continue;
      }
      const match = /^started (.*) (\d+)$/.exec(line);
      if (!match) continue;
      const waiter = this.starting.get(match[1]!);
      this.starting.delete(match[1]!);
      waiter?.resolve(Number(match[2]));
    }
  }
}

/**
 * The job's shell reads each file up to a NUL, and no environment or bash script can hold one
 * (bash drops them when it reads a script), so NULs are dropped here: nothing after one is lost.
 */
function withoutNul(text: string): string {
  return text.replaceAll('\0', '');
}

/** `export NAME='value'` lines; values single-quoted, so nothing in them is interpreted. */
function shellExports(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([key, value]) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new Error(`environment variable name ${JSON.stringify(key)} is not valid in a shell`);
      return `export ${key}='${value.replaceAll("'", "'\\''")}'`;
    })
    .join('\n') + '\n';
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
  const ended = readExit(handle.dir);
  if (ended) return forgetEnvironment(handle, ended);
  if (isAlive(handle)) return { state: 'running' };
  // The wrapper may have written the file between the two checks.
  const exited = readExit(handle.dir);
  if (exited) return forgetEnvironment(handle, exited);
  // Neither forked (no pgid) nor recorded: the server died before the launcher got it.
  if (handle.wrapperPid === null && readStateFile(join(handle.dir, 'pgid')) === null) return forgetEnvironment(handle, { state: 'never_started' });
  return forgetEnvironment(handle, { state: 'lost' });
}

/** An ended attempt's env.sh (left only when its server died mid-launch) goes with it. */
function forgetEnvironment(handle: ProcessHandle, status: ProcessStatus): ProcessStatus {
  rmSync(join(handle.dir, 'env.sh'), { force: true });
  return status;
}

function readExit(dir: string): ProcessStatus | null {
  const text = readStateFile(join(dir, 'exit'));
  if (text === null) return null;
  // Written with one write of "N\\n"; without the newline it is still being written.
  if (!text.endsWith('\n')) return null;
  const code = Number.parseInt(text, 10);
  if (!Number.isFinite(code)) return { state: 'lost' };
  // bash reports a child killed by signal N as 128+N.
  const signal = code > 128 && code < 128 + 65 ? signalName(code - 128) : null;
  return { state: 'exited', exitCode: code, signal };
}

function isAlive(handle: ProcessHandle): boolean {
  const target = handle.wrapperPid ?? -readPgid(handle.dir);
  if (!Number.isFinite(target) || Math.abs(target) <= 1) return false;
  try {
    process.kill(target, 0);
  } catch {
    return false;
  }
  if (handle.wrapperPid === null) return true;
  if (isZombie(handle.wrapperPid)) return false;
  if (handle.wrapperStart === null) return true;
  return processStartTime(handle.wrapperPid) === handle.wrapperStart;
}

/** An exited process not yet reaped (its parent, the server, was killed): it runs no more. */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false;
  }
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

/** The pgid the launcher recorded (server-owned file); for a handle without a leader pid only. */
function readPgid(dir: string): number {
  const text = readStateFile(join(dir, 'pgid'));
  return text === null ? Number.NaN : Number.parseInt(text, 10);
}

/**
 * Signals the attempt's whole process group: the group whose leader the launcher forked and
 * reported (the handle's wrapperPid, a group leader since `set -m`). When that pid now belongs to
 * another process (a different start time), stint's group is gone and nothing is signalled. When
 * the leader has exited but its group lives on (the job's children), kill(-pgid) still reaches only
 * that group: Linux does not reuse a pid while a process group of that id exists. Only a handle
 * without a leader pid (a crash mid-launch) falls back to the server-owned pgid file.
 * Throws when the group is not known yet.
 */
export async function signalGroup(handle: ProcessHandle, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  const pgid = handle.wrapperPid ?? readPgid(handle.dir);
  if (!Number.isInteger(pgid) || pgid <= 1) throw new Error(`the process group of ${handle.dir} is not known yet`);
  if (handle.wrapperPid !== null && handle.wrapperStart !== null) {
    const start = processStartTime(pgid);
    if (start !== null && start !== handle.wrapperStart) return;
  }
  try {
    process.kill(-pgid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

function signalName(n: number): string {
  const names: Record<number, string> = { 1: 'SIGHUP', 2: 'SIGINT', 3: 'SIGQUIT', 6: 'SIGABRT', 9: 'SIGKILL', 11: 'SIGSEGV', 13: 'SIGPIPE', 14: 'SIGALRM', 15: 'SIGTERM' };
  return names[n] ?? `SIG${n}`;
}
