// Runs attempts as real processes that outlive the server. One long-lived bash "launcher" (a
// child of the server, in its own session) forks one subshell per attempt: forking from a small
// bash is far cheaper than spawning from the server's large Node process (8-40 ms). That subshell
// is the leader of the attempt's own process group (bash job control); cancel and timeouts signal
// the whole group (pgid file). It records its exit status in `exit` with one write, so a job
// killed with the server still finishes and its true exit code is read back after a restart, and
// it reports "exited DIR" on the launcher's output as a wake-up hint; polling the files stays the
// truth.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { chown, lchown, mkdir, readdir, writeFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { join } from 'node:path';

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

// Process creation is the cost that matters (about 3 ms per fork on a small VM), so each attempt
// costs one fork of the launcher: the job subshell sources the user's setup and run itself and
// records its own exit status from an EXIT trap (fatal signals are turned into exits, so a killed
// job records 128+N). What a trap cannot record — SIGKILL, or a `trap ... EXIT` of the user's own
// replacing ours — is seen as a vanished process group, and the scheduler reports it as such.
// When the task's scripts mention `trap`, they run in a nested subshell so ours stays in place.
const LAUNCHER = `set -m
exec 3>&1
while IFS= read -r dir; do
  (
    . "$dir/env.sh" || exit 96
    : >"$dir/env.sh"
    unset dir
    trap 'code=$?; echo "$code" >"$STINT_ATTEMPT_DIR/exit"; echo "exited $STINT_ATTEMPT_DIR" >&3' EXIT
    trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM
    cd "$STINT_WORKDIR" || exit 97
    if [ -n "$STINT_RUN_AS_UID" ]; then
      setpriv --reuid="$STINT_RUN_AS_UID" --regid="$STINT_RUN_AS_GID" --init-groups bash --norc --noprofile -c '
        if [ -s "$STINT_ATTEMPT_DIR/setup.sh" ]; then
          ( . "$STINT_ATTEMPT_DIR/setup.sh" ) || { code=$?; echo "stint: setup failed with exit code $code" >&2; exit $code; }
        fi
        . "$STINT_ATTEMPT_DIR/run.sh"'
      exit $?
    fi
    if [ -s "$STINT_ATTEMPT_DIR/setup.sh" ]; then
      ( . "$STINT_ATTEMPT_DIR/setup.sh" ) || { code=$?; echo "stint: setup failed with exit code $code" >&2; exit $code; }
    fi
    if [ -n "$STINT_ISOLATE_RUN" ]; then
      ( . "$STINT_ATTEMPT_DIR/run.sh" )
    else
      . "$STINT_ATTEMPT_DIR/run.sh"
    fi
  ) >>"$dir/output.log" 2>&1 </dev/null &
  echo "$!" >"$dir/pgid"
  echo "started $dir $!"
done
`;

export interface StartOptions {
  dir: string;
  workdir: string;
  setup: string | null;
  run: string | null;
  env: Record<string, string>;
  /** Run as this account (a root server): `chownRoot` is handed to it and the job drops to it with setpriv. */
  runAs?: { uid: number; gid: number; chownRoot: string } | null;
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
    await mkdir(options.dir, { recursive: true });
    const isolate = /\btrap\b/.test(`${options.setup ?? ''}\n${options.run ?? ''}`);
    const runAs: Record<string, string> = options.runAs ? { STINT_RUN_AS_UID: String(options.runAs.uid), STINT_RUN_AS_GID: String(options.runAs.gid) } : {};
    const env = { ...options.env, ...runAs, STINT_WORKDIR: options.workdir, STINT_ATTEMPT_DIR: options.dir, ...(isolate && { STINT_ISOLATE_RUN: '1' }) };
    await Promise.all([
      writeFile(join(options.dir, 'env.sh'), shellExports(env), { mode: 0o600 }),
      options.setup ? writeFile(join(options.dir, 'setup.sh'), options.setup) : undefined,
      writeFile(join(options.dir, 'run.sh'), options.run ?? ''),
    ]);
    if (options.runAs) await chownTree(options.runAs.chownRoot, options.runAs.uid, options.runAs.gid);
    const launcher = this.launcher();
    const pid = await new Promise<number>((resolve, reject) => {
      this.starting.set(options.dir, { resolve, reject });
      // Referenced while a start is awaited, so the process waits for the answer.
      (launcher.stdout as unknown as Socket).ref();
      launcher.stdin.write(options.dir + '\n');
    });
    if (this.starting.size === 0) (launcher.stdout as unknown as Socket).unref();
    return { dir: options.dir, wrapperPid: pid, wrapperStart: processStartTime(pid) };
  }

  close(): void {
    this.child?.stdin.end();
    this.child = null;
  }

  private launcher(): ChildProcessWithoutNullStreams {
    if (this.child && this.child.exitCode === null) return this.child;
    const child = spawn('bash', ['--norc', '--noprofile', '-c', LAUNCHER], { detached: true, stdio: ['pipe', 'pipe', 'ignore'], env: baseEnvironment() }) as unknown as ChildProcessWithoutNullStreams;
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
    if (child.pid !== undefined) writeFileSync(this.pidFile, `${child.pid} ${processStartTime(child.pid)}\n`);
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
      const match = /^started (.*) (\d+)$/.exec(line);
      if (!match) continue;
      const waiter = this.starting.get(match[1]!);
      this.starting.delete(match[1]!);
      waiter?.resolve(Number(match[2]));
    }
  }
}

/** Gives a directory tree to an account, so a job dropped to it can use its job directory. */
async function chownTree(root: string, uid: number, gid: number): Promise<void> {
  await chown(root, uid, gid);
  for (const entry of await readdir(root, { withFileTypes: true })) {
    const path = join(root, entry.name);
    if (entry.isDirectory()) await chownTree(path, uid, gid);
    else await lchown(path, uid, gid);
  }
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
  if (ended) return ended;
  if (isAlive(handle)) return { state: 'running' };
  // The wrapper may have written the file between the two checks.
  const exited = readExit(handle.dir);
  if (exited) return exited;
  // Neither forked (no pgid) nor recorded: the server died before the launcher got it.
  if (handle.wrapperPid === null && !existsSync(join(handle.dir, 'pgid'))) return { state: 'never_started' };
  return { state: 'lost' };
}

function readExit(dir: string): ProcessStatus | null {
  const path = join(dir, 'exit');
  if (!existsSync(path)) return null;
  const text = readFileSync(path, 'utf8');
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

/** Signals the job's whole process group; throws when its group is not known yet. */
function readPgid(dir: string): number {
  try {
    return Number.parseInt(readFileSync(join(dir, 'pgid'), 'utf8'), 10);
  } catch {
    return Number.NaN;
  }
}

export async function signalGroup(handle: ProcessHandle, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  const pgid = readPgid(handle.dir);
  if (!Number.isFinite(pgid) || pgid <= 1) throw new Error(`the process group of ${handle.dir} is not known yet`);
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
