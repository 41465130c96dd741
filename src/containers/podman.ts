// How stint runs podman: which binary and OCI runtime, which cgroup manager and rlimits, and the
// one fixed environment every podman command gets. Detected once (`Podman.detect`) and then
// immutable; image management (images.ts) and the local container engine both go through it.
// Must hold: podman is run by absolute path with an environment stint builds (never the job's or
// the caller's own variables), and every choice that differs between hosts (runtime, cgroup
// manager, rlimits) is either detected or given by the operator, never assumed for one machine.

import { spawn } from 'node:child_process';
import { accessSync, constants, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';

/** Where podman and the OCI runtimes are looked for, in order (never through a PATH). */
const PODMAN_PATHS = ['/usr/bin/podman', '/usr/local/bin/podman', '/bin/podman'];
/** runc first: crun refuses hosts with hybrid cgroups ("cgroups in hybrid mode not supported"). */
const RUNTIME_PATHS = ['/usr/bin/runc', '/usr/sbin/runc', '/usr/local/bin/runc', '/usr/local/sbin/runc', '/usr/bin/crun', '/usr/local/bin/crun'];
/** The PATH podman (and the conmon/runtime it starts) gets. */
const PODMAN_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';
const ENV_BINARY = '/usr/bin/env';
/** podman's own defaults when it may raise rlimits; higher values are pointless. */
const NOFILE_CEILING = 1_048_576;
/** podman 4.x holds its own RLIMIT_NPROC at this when it cannot raise it (seen on podman 4.3). */
const NPROC_CEILING = 32_768;
const CAP_SYS_RESOURCE = 24;

export interface PodmanOptions {
  /** stint's home: `<home>/containers/containers.conf` is written there. */
  home: string;
  /** Variables podman itself may need (HOME, XDG_RUNTIME_DIR for a non-root server); nothing else is passed. */
  env?: Readonly<Record<string, string | undefined>>;
  /** The podman binary (absolute); default: the first of PODMAN_PATHS that exists. */
  binary?: string;
  /** The OCI runtime (absolute, `--container-runtime`); default: runc, else crun. */
  runtime?: string;
  /** Default cgroupfs: stint hands podman cgroup paths (`--cgroup-parent /stint/...`), not systemd slices. */
  cgroupManager?: 'cgroupfs' | 'systemd';
  /** `--ulimit` values for every container (`nofile=1024:1024`); default: detected (see `detectUlimits`). */
  ulimits?: string[];
}

export interface PodmanResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface PodmanRunOptions {
  /** Fed to podman's stdin (e.g. an archive for `podman load`); default: none (stdin closed). */
  stdin?: Readable | string | Buffer;
  /** Kills podman (SIGKILL) after this long; the result then has code 124. Default 120 s. */
  timeoutMs?: number;
}

export class Podman {
  private constructor(
    /** Absolute path of the podman binary. */
    readonly binary: string,
    /** The OCI runtime podman is told to use. */
    readonly runtime: string,
    /** Arguments every podman command gets before its subcommand (runtime, cgroup manager, events). */
    readonly globalArgs: readonly string[],
    /** `--ulimit` arguments for `podman run` (empty when podman may raise rlimits itself). */
    readonly ulimitArgs: readonly string[],
    /** The complete environment podman runs with. */
    readonly env: Readonly<Record<string, string>>,
    /** The containers.conf stint wrote (the same choices, for an admin's own `podman` commands). */
    readonly configFile: string,
  ) {}

  /**
   * Finds podman and an OCI runtime, chooses the cgroup manager and rlimits, writes stint's
   * containers.conf and checks that podman answers (`podman version`). Returns why not when any
   * step fails, in words an operator can act on.
   */
  static async detect(options: PodmanOptions): Promise<Podman | { unavailable: string }> {
    const binary = options.binary ?? PODMAN_PATHS.find(isExecutable);
    if (binary === undefined) return { unavailable: `podman is not installed (looked for ${PODMAN_PATHS.join(', ')}); install the podman package` };
    if (!binary.startsWith('/') || !isExecutable(binary)) return { unavailable: `podman binary ${JSON.stringify(binary)} is not an absolute path to an executable` };
    const runtime = options.runtime ?? RUNTIME_PATHS.find(isExecutable);
    if (runtime === undefined) return { unavailable: `no OCI runtime found (looked for ${RUNTIME_PATHS.join(', ')}); install runc or pass --container-runtime PATH` };
    if (!runtime.startsWith('/') || !isExecutable(runtime)) return { unavailable: `container runtime ${JSON.stringify(runtime)} (--container-runtime) is not an absolute path to an executable` };
    const cgroupManager = options.cgroupManager ?? 'cgroupfs';
    const ulimits = options.ulimits ?? detectUlimits(readFileSync('/proc/self/status', 'utf8'), readFileSync('/proc/self/limits', 'utf8'));
    const configFile = writeContainersConf(options.home, runtime, cgroupManager, ulimits);
    const env = podmanEnv(options.env ?? {}, configFile);
    const globalArgs = ['--runtime', runtime, '--cgroup-manager', cgroupManager, '--events-backend', 'file'];
    const podman = new Podman(binary, runtime, globalArgs, ulimits.flatMap((u) => ['--ulimit', u]), env, configFile);
    const probe = await podman.run(['version', '--format', '{{.Client.Version}}'], { timeoutMs: 30_000 });
    if (probe.code !== 0) return { unavailable: `${binary} version failed (exit ${probe.code}): ${probe.stderr.trim().slice(0, 500)}` };
    return podman;
  }

  /**
   * The full command line that runs `podman <globalArgs> <args>` with podman's fixed environment:
   * starts with /usr/bin/env -i, so a caller's environment (a launcher's, a job's) never reaches it.
   */
  command(args: readonly string[]): string[] {
    return [ENV_BINARY, '-i', ...Object.entries(this.env).map(([k, v]) => `${k}=${v}`), this.binary, ...this.globalArgs, ...args];
  }

  /**
   * Runs `podman <globalArgs> <args>` and collects its output (podman's own output: keep it small;
   * stdout is capped at 16 MiB, stderr at 1 MiB). Never throws for a non-zero exit: read `code`.
   */
  run(args: readonly string[], options: PodmanRunOptions = {}): Promise<PodmanResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.binary, [...this.globalArgs, ...args], { env: { ...this.env }, stdio: ['pipe', 'pipe', 'pipe'] });
      const out = collector(16 << 20);
      const err = collector(1 << 20);
      let timedOut = false;
      const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, options.timeoutMs ?? 120_000);
      child.stdout.on('data', out.add);
      child.stderr.on('data', err.add);
      child.on('error', (error) => { clearTimeout(timer); reject(error); });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        const stderr = err.text() + (timedOut ? `\nstint: podman ${args[0] ?? ''} killed after ${options.timeoutMs ?? 120_000} ms` : '');
        resolve({ code: timedOut ? 124 : code ?? 128 + signalNumber(signal), stdout: out.text(), stderr });
      });
      child.stdin.on('error', () => { /* podman may exit before reading all of stdin; its exit code says why */ });
      const input = options.stdin;
      if (input === undefined) child.stdin.end();
      else if (typeof input === 'string' || Buffer.isBuffer(input)) child.stdin.end(input);
      else input.on('error', (e) => child.stdin.destroy(e)).pipe(child.stdin);
    });
  }
}

/**
 * The rlimits a container may start with. A process with CAP_SYS_RESOURCE lets podman raise them
 * (no flags needed); without it runc fails ("setting rlimit ... operation not permitted") unless
 * the container asks for no more than podman itself holds: the hard limits, capped as podman caps them.
 */
export function detectUlimits(status: string, limits: string): string[] {
  const capEff = /^CapEff:\s*([0-9a-f]+)/m.exec(status)?.[1];
  if (capEff !== undefined && (BigInt(`0x${capEff}`) >> BigInt(CAP_SYS_RESOURCE)) & 1n) return [];
  const hard = (name: string, fallback: number): number => {
    const value = new RegExp(`^Max ${name}\\s+\\S+\\s+(\\S+)`, 'm').exec(limits)?.[1];
    return value === undefined || value === 'unlimited' ? fallback : Number(value);
  };
  const nofile = Math.min(hard('open files', 1024), NOFILE_CEILING);
  const nproc = Math.min(hard('processes', 1024), NPROC_CEILING);
  return [`nofile=${nofile}:${nofile}`, `nproc=${nproc}:${nproc}`];
}

function podmanEnv(given: Readonly<Record<string, string | undefined>>, configFile: string): Record<string, string> {
  const env: Record<string, string> = { PATH: PODMAN_PATH, CONTAINERS_CONF: configFile };
  for (const name of ['HOME', 'XDG_RUNTIME_DIR', 'TMPDIR']) {
    const value = given[name];
    if (value !== undefined && value !== '' && !/[\n\0]/.test(value)) env[name] = value;
  }
  return env;
}

function writeContainersConf(home: string, runtime: string, cgroupManager: string, ulimits: readonly string[]): string {
  const dir = join(home, 'containers');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, 'containers.conf');
  const list = (items: readonly string[]) => `[${items.map((i) => JSON.stringify(i)).join(', ')}]`;
  writeFileSync(file, [
    '# Written by stint at each start (src/containers/podman.ts); edits are overwritten.',
    '[containers]',
    `default_ulimits = ${list(ulimits)}`,
    '[engine]',
    `cgroup_manager = ${JSON.stringify(cgroupManager)}`,
    'events_logger = "file"',
    'runtime = "stint"',
    '[engine.runtimes]',
    `stint = ${list([runtime])}`,
    '',
  ].join('\n'), { mode: 0o600 });
  return file;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function collector(limit: number): { add: (chunk: Buffer) => void; text: () => string } {
  const chunks: Buffer[] = [];
  let size = 0;
  return {
    add: (chunk) => { if (size < limit) { chunks.push(chunk.subarray(0, limit - size)); size += chunk.length; } },
    text: () => Buffer.concat(chunks).toString('utf8'),
  };
}

function signalNumber(signal: NodeJS.Signals | null): number {
  return signal === null ? 0 : osConstants.signals[signal] ?? 0;
}
