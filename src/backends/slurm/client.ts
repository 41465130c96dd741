// Runs Slurm commands and touches the shared work folder, either on this machine or on a login
// node over SSH. Invariants: no value ever reaches a shell unquoted — locally commands run without
// a shell (execFile); over SSH the remote command line is built from `shellQuote`d words only, and
// file contents (scripts, secrets) travel on stdin, never on a command line. Every command counts
// towards `commandsRun`, so a benchmark can check that a poll issues a constant number of them.
// `submit` runs sbatch under the job's own account when one is given (a root server, no SSH): the
// privileged part is /usr/bin/setpriv with an environment stint builds (no value of the job's),
// and only the unprivileged shell after it reads the job's environment from stdin; what that shell
// prints is the account's word (its other processes can write into the pipe), so the backend checks
// the job id with Slurm before recording it. Every other command (scontrol, squeue, sacct,
// scancel) runs as the server's account, Slurm's operator.
// Environment: Slurm's commands get the server's SLURM_CONF (as module systems export it) unless the
// backend's `slurmConf` key says otherwise (the key wins); a submission under an account gets that
// account's login environment (HOME, USER, SHELL, PATH of login.defs), never the server's PATH,
// and sbatch --export=ALL hands it to the job.
// Over SSH with `submitAs: sudo`, a command may run as another account of the login node through
// `sudo -n -u <user> -H --` (never a password prompt); its words are quoted like every other.

import { execFile, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { chmod, mkdir, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { callerEnvironment } from '../../config.js';
import { StintError } from '../../core/errors.js';
import { SYSTEM_PROGRAMS } from '../system-programs.js';
import { readLogFile } from '../local/backend.js';
import type { LogChunk } from '../backend.js';
import { loginEnvironment } from '../account-env.js';

const LOGIN_ENV = ['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'TERM', 'SSH_AUTH_SOCK'];
/** What a submission under another account keeps of the server's environment (never PATH, HOME, agents or tokens). */
const SUBMIT_ENV = ['LANG', 'LC_ALL', 'TZ', 'TERM'];
/**
 * Where Slurm's commands find their cluster, taken from the server's environment. Only SLURM_CONF:
 * munge has no variable (its socket is AuthInfo=socket= in slurm.conf), SLURM_CLUSTERS would make
 * squeue/scancel act on other clusters and print per-cluster headers, and the *_FORMAT and SBATCH_*
 * variables would change what stint parses and every job it submits.
 */
export const SLURM_SERVER_ENV = ['SLURM_CONF'];
const { setpriv: SETPRIV, bash: BASH } = SYSTEM_PROGRAMS;
/** Runs in the unprivileged shell: the job's environment (stdin), private files, then sbatch. */
// (`read` takes stdin's pipe as it is: /dev/stdin cannot be reopened once the account changed.)
const SUBMIT_SCRIPT = 'umask 077; IFS= read -r -d \'\' stint_env; eval "$stint_env" || exit 96; unset stint_env; exec sbatch --parsable "$1"';

/** The account a job is submitted as; null: the server's own (or the SSH account). */
export interface SubmitAs {
  user: string;
  uid: number;
  gid: number;
  home: string;
  /** The account's login shell; absent: /bin/sh (login's default). */
  shell?: string;
}

export interface SshTarget {
  host: string;
  user?: string;
  port?: number;
  key?: string;
  /** Extra `-o` options (tests: a throwaway known_hosts). */
  options?: string[];
}

export interface ClientOptions {
  ssh?: SshTarget;
  /** Seconds before a command is killed. */
  timeoutSeconds: number;
  /** Extra environment for local commands (e.g. SLURM_CONF of a test cluster). */
  env?: Record<string, string>;
  /** The server's own environment, of which only named variables are used; default: this process's (config.ts). */
  serverEnv?: Readonly<Record<string, string | undefined>>;
}

export interface CommandResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface FileToWrite {
  path: string;
  content: string | Buffer;
  mode: number;
}

/** Quotes one word for a POSIX shell: the result is always a single literal word. */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export class SlurmClient {
  commandsRun = 0;

  /**
   * Where ssh's shared-connection socket lives: a fresh 0700 directory of this process with an
   * unguessable name. Never a fixed path in /tmp: ssh uses whatever socket it finds at its
   * ControlPath, so a local user who planted one there would receive every command and its stdin.
   */
  private controlDir: string | null = null;

  private readonly serverEnv: Readonly<Record<string, string | undefined>>;

  constructor(private readonly options: ClientOptions) {
    this.serverEnv = options.serverEnv ?? callerEnvironment();
  }

  get remote(): boolean {
    return this.options.ssh !== undefined;
  }

  /** Runs `command args...` (locally without a shell, or over ssh with every word quoted; `sudoUser`: as that account, ssh only). */
  async run(command: string, args: readonly string[], stdin?: string | Buffer, sudoUser?: string): Promise<CommandResult> {
    this.commandsRun++;
    const [file, argv] = this.commandLine(command, args, sudoUser);
    return runProcess(file, argv, { stdin, timeoutMs: this.options.timeoutSeconds * 1000, env: this.env() });
  }

  /** Like `run`, but a non-zero exit becomes a BACKEND_ERROR naming the command and its stderr. */
  async check(command: string, args: readonly string[], stdin?: string | Buffer, sudoUser?: string): Promise<string> {
    const result = await this.run(command, args, stdin, sudoUser);
    if (result.code !== 0) {
      throw new StintError('BACKEND_ERROR', `${command} failed (exit ${result.code}): ${result.stderr.trim().slice(0, 500)}`, {
        command, code: result.code, stderr: result.stderr.slice(0, 2000),
      });
    }
    return result.stdout;
  }

  /**
   * sbatch SCRIPT with `environment` (shell text) read on stdin by the shell that runs sbatch, so
   * the job's environment, secrets included, is never in a file or on a command line. With `as`
   * (local only), that shell is the job's account's, entered through setpriv with a clean environment.
   */
  async submit(scriptPath: string, environment: string, as: SubmitAs | null, cwd: string): Promise<string> {
    const args = ['-c', SUBMIT_SCRIPT, 'stint-submit', scriptPath];
    if (!as) return this.check(BASH, args, environment);
    // Over SSH (submitAs: sudo): sudo's env_reset gives the account's HOME, USER, SHELL and secure_path.
    if (this.remote) return this.check(BASH, args, environment, as.user);
    this.commandsRun++;
    const env: NodeJS.ProcessEnv = { ...this.serverVariables(SUBMIT_ENV), ...loginEnvironment(as), ...this.serverVariables(SLURM_SERVER_ENV), ...this.options.env };
    const argv = [`--reuid=${as.uid}`, `--regid=${as.gid}`, '--init-groups', '--', BASH, ...args];
    const result = await runProcess(SETPRIV, argv, { stdin: environment, timeoutMs: this.options.timeoutSeconds * 1000, env, cwd });
    if (result.code !== 0) {
      throw new StintError('BACKEND_ERROR', `sbatch as ${as.user} failed (exit ${result.code}): ${result.stderr.trim().slice(0, 500)}`, {
        command: 'sbatch', user: as.user, code: result.code, stderr: result.stderr.slice(0, 2000),
      });
    }
    return result.stdout;
  }

  /**
   * Writes files (creating their folders); over ssh all of them in one command, contents on stdin.
   * `as` (ssh only): written by that account, and `ownDir` must then be made fresh by it (0700) or
   * already be its own real folder, so no other account can have planted it.
   */
  async writeFiles(files: readonly FileToWrite[], as?: { user: string; ownDir: string }): Promise<void> {
    if (!this.remote) {
      for (const f of files) {
        await mkdir(dirname(f.path), { recursive: true });
        const tmp = `${f.path}.tmp-${process.pid}`;
        await writeFile(tmp, f.content, { mode: f.mode });
        await chmod(tmp, f.mode);
        await rename(tmp, f.path);
      }
      return;
    }
    // A script on stdin: each file's bytes as base64 in a quoted heredoc (no expansion happens in it).
    const lines = ['set -e', 'umask 077'];
    if (as) {
      const d = shellQuote(as.ownDir);
      lines.push(`if [ -e ${d} ] || [ -L ${d} ]; then [ -d ${d} ] && [ ! -L ${d} ] && [ -O ${d} ] || { echo "stint: ${as.ownDir.replace(/[^A-Za-z0-9._/+-]/g, '')} exists and is not $(id -un)'s own folder" >&2; exit 3; }; else mkdir -m 700 ${d}; fi`);
    }
    for (const f of files) {
      const q = shellQuote(f.path);
      const data = Buffer.from(f.content).toString('base64').replace(/(.{76})/g, '$1\n');
      lines.push(`mkdir -p ${shellQuote(dirname(f.path))}`, `base64 -d > ${q}.tmp <<'STINT_EOF'`, data, 'STINT_EOF',
        `chmod ${f.mode.toString(8)} ${q}.tmp`, `mv -f ${q}.tmp ${q}`);
    }
    await this.check('bash', ['-s'], lines.join('\n') + '\n', as?.user);
  }

  /** Reads a byte range of a file (negative offset: from the end), locally or with tail/head over ssh. */
  async readRange(path: string, offset: number, limit: number, sudoUser?: string): Promise<LogChunk> {
    if (!this.remote) return readLogFile(path, offset, limit);
    // One command: the size, then the bytes. `tail -c +N` starts at byte N (1-based).
    const script = 'f=$1; o=$2; n=$3; [ -f "$f" ] || { echo -1; exit 0; }; s=$(stat -c %s "$f"); echo "$s";' +
      ' if [ "$o" -lt 0 ]; then o=$((s + o)); [ "$o" -lt 0 ] && o=0; fi; [ "$o" -gt "$s" ] && o=$s;' +
      ' echo "$o"; tail -c +$((o + 1)) "$f" | head -c "$n"';
    const out = await this.runBuffer('bash', ['-c', script, 'read-range', path, String(Math.trunc(offset)), String(Math.max(0, Math.trunc(limit)))], sudoUser);
    const first = out.indexOf(10);
    const size = Number(out.subarray(0, first).toString());
    if (size < 0) return { text: '', offset, nextOffset: offset, size: 0 };
    const second = out.indexOf(10, first + 1);
    const start = Number(out.subarray(first + 1, second).toString());
    const bytes = out.subarray(second + 1);
    return { text: bytes.toString('utf8'), offset: start, nextOffset: start + bytes.length, size };
  }

  private async runBuffer(command: string, args: readonly string[], sudoUser?: string): Promise<Buffer> {
    this.commandsRun++;
    const [file, argv] = this.commandLine(command, args, sudoUser);
    return new Promise((resolve, reject) => {
      execFile(file, argv, { encoding: 'buffer', maxBuffer: 64 << 20, timeout: this.options.timeoutSeconds * 1000, env: this.env() }, (error, stdout) => {
        if (error) reject(new StintError('BACKEND_ERROR', `${command} failed: ${error.message}`, { command }, { cause: error }));
        else resolve(stdout);
      });
    });
  }

  private sshControlDir(): string {
    this.controlDir ??= mkdtempSync(join(tmpdir(), 'stint-ssh-'));
    return this.controlDir;
  }

  private commandLine(command: string, args: readonly string[], sudoUser?: string): [string, string[]] {
    const ssh = this.options.ssh;
    if (sudoUser !== undefined && !ssh) throw new StintError('INTERNAL', 'sudo is used only over SSH; locally a submission drops with setpriv', {});
    if (!ssh) return [command, [...args]];
    if (sudoUser !== undefined && !/^[a-z_][a-z0-9_.-]{0,31}$/i.test(sudoUser)) throw new StintError('INVALID_REQUEST', `${JSON.stringify(sudoUser)} is not a user name sudo -u is given`, { user: sudoUser });
    const target = ssh.user ? `${ssh.user}@${ssh.host}` : ssh.host;
    const sshArgs = ['-o', 'BatchMode=yes', '-o', `ConnectTimeout=${Math.max(1, Math.min(this.options.timeoutSeconds, 30))}`,
      // One TCP connection and login for every command (a poll every second would otherwise log in every second).
      '-o', 'ControlMaster=auto', '-o', `ControlPath=${this.sshControlDir()}/%C`, '-o', 'ControlPersist=60'];
    for (const o of ssh.options ?? []) sshArgs.push('-o', o);
    if (ssh.port !== undefined) sshArgs.push('-p', String(ssh.port));
    if (ssh.key !== undefined) sshArgs.push('-i', ssh.key);
    // ssh joins its arguments with spaces and hands them to the remote shell: quote every word.
    const sudo = sudoUser !== undefined ? ['sudo', '-n', '-u', sudoUser, '-H', '--'] : [];
    const remote = [...sudo, command, ...args].map(shellQuote).join(' ');
    return ['ssh', [...sshArgs, '--', target, remote]];
  }

  /** Only what a login shell would have (sbatch exports it to the job): the server's own variables never reach jobs. */
  private env(): NodeJS.ProcessEnv {
    return { ...this.serverVariables(LOGIN_ENV), ...this.serverVariables(SLURM_SERVER_ENV), ...this.options.env };
  }

  /** The named variables of the server's own environment that are set (SLURM_CONF, PATH, LANG...). */
  private serverVariables(keys: readonly string[]): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {};
    for (const key of keys) if (this.serverEnv[key] !== undefined) env[key] = this.serverEnv[key];
    return env;
  }
}

interface RunOptions {
  stdin?: string | Buffer;
  timeoutMs: number;
  env: NodeJS.ProcessEnv;
  cwd?: string;
}

function runProcess(file: string, argv: string[], options: RunOptions): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, argv, { env: options.env, cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new StintError('BACKEND_ERROR', `cannot run ${file}: ${error.message}`, { command: file }, { cause: error }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stderr = Buffer.concat(err).toString('utf8') + (signal ? `\n(killed by ${signal} after ${options.timeoutMs} ms)` : '');
      resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr, code: code ?? 128 });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.stdin ?? '');
  });
}
