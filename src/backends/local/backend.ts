// The local backend: attempts run as processes on the server's own machine, on GPUs that stint's
// policy chose (whole GPUs, exclusive, via CUDA_VISIBLE_DEVICES / ROCR_VISIBLE_DEVICES). Every
// attempt has a directory under <jobs>/<id>/attempt-<n> holding its scripts, output.log and exit
// status, so the state of any attempt can be read back after a server restart; attempt-files.ts
// owns that layout and who may write what. On a root server each job runs as its owner's mapped
// account (identity perUser); a non-root server runs every job as its own account. Each attempt is
// confined where the host allows (attempt-sandbox.ts: its own cgroup, mount namespace and tmp/),
// and the node says in its inventory how far (never silently unconfined); a task with `image_id`
// runs through the container engine when one is given and available.

import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Inventory, Node } from '../../core/inventory.js';
import { loginEnvironment } from '../account-env.js';
import { type AttemptRef, type AttemptStatus, type Backend, type BackendIdentity, type Launched, type LaunchRequest, type LogChunk, attemptKey } from '../backend.js';
import { gpuVisibility, jobEnvironment } from '../job-env.js';
import { type Account, openLogForReading, prepareAttempt } from './attempt-files.js';
import { DEFAULT_PIDS_LIMIT, endedOutOfMemory, finishSandbox, gpuDeviceNumbers, outOfMemoryDetail, prepareSandbox, type SandboxSettings } from './attempt-sandbox.js';
import type { CgroupEvidence } from './cgroups/attempt-cgroup.js';
import { probeConfinement } from './cgroups/confinement.js';
import type { ContainerEngine, ContainerLaunch } from './container-port.js';
import { accountGroups, homeMount } from './container/account.js';
import { detectHostResources, discoverGpus } from './gpus/discover.js';
import { prepareJobsDir } from './jobs-dir.js';
import { HELPERS } from './launcher-script.js';
import { type ProcessHandle, ProcessLauncher, processStatus, signalGroup } from './process.js';

export interface LocalBackendOptions {
  name: string;
  /** stint's home (the launcher's pid file). */
  home: string;
  /** Where job directories live (--jobs-dir); default <home>/jobs, or a reachable one (jobs-dir.ts). */
  jobsDir?: string;
  /** Fake GPUs (`A100:4`, `4`) for machines without any; otherwise discovered. */
  fakeGpus?: string;
  /** `--fake-gpu-devices DIR`: fake GPU N's device node is DIR/nvidiaN (made by a test with mknod). */
  fakeGpuDevices?: string;
  /** `--default-memory-per-gpu`: a task that states no `memory` is limited to this × its GPUs (bytes); absent: no limit. */
  defaultMemoryPerGpuBytes?: number;
  /** `--pids-limit`: processes and threads per attempt (default 16384). */
  pidsLimit?: number;
  /** false: run jobs unconfined (the node then says so); default true where the host allows. */
  confine?: boolean;
  /** Runs tasks with `image_id` (./container/); absent or unavailable: `image_id` is refused. */
  containers?: ContainerEngine;
}

export const LOCAL_UNSUPPORTED = {
  multi_node: 'it runs on this one machine; use a Slurm or Kubernetes backend for num_nodes > 1',
  spot: 'spot instances exist only on clouds; this machine is not preemptible capacity',
  image: 'containers are not supported yet; the job runs directly on the host',
  cloud_infra: 'it cannot provision cloud machines; remove `infra`/`cloud` or set `infra: local`',
  bucket_mount: 'bucket mounts need cloud storage credentials and a mount tool; copy the data to this machine instead',
  local_file_mount: 'file_mounts are not copied yet; put the files in `workdir` or use absolute paths on this machine',
  volume: 'volumes are managed by Kubernetes/cloud backends; use a path on this machine instead',
  ports: 'jobs share the host network; ports need no declaration and cannot be reserved',
  disk_size: 'the local disk cannot be sized per job',
  fractional_gpu: 'GPUs are allocated whole and exclusively; ask for a whole number of GPUs',
  job_recovery: 'managed-job recovery is a cloud feature; use stint `retries` instead',
  service: 'serving (`service`) is not supported',
  pipeline: 'multi-task pipelines are not supported yet; submit each task on its own',
  other: 'this field configures cloud machines and has no meaning on a local machine',
} as const;

export async function createLocalBackend(options: LocalBackendOptions): Promise<Backend> {
  const found = await discoverGpus({ fake: options.fakeGpus, fakeDevices: options.fakeGpuDevices });
  const host = detectHostResources();
  const jobsDir = await prepareJobsDir(options.home, options.jobsDir);
  await ProcessLauncher.awaitPrevious(launcherPidFile(options));
  const confined = probeConfinement({
    jobsDir, enabled: options.confine ?? true, isRoot: process.getuid?.() === 0, unshare: HELPERS.unshare,
    keepVisible: options.fakeGpuDevices === undefined ? [] : [options.fakeGpuDevices],
  });
  const node: Node = { name: hostname(), gpus: found.gpus, cpus: host.cpus, memoryGb: host.memoryGb, confinement: confined.confinement };
  const sandbox: SandboxSettings = {
    host: confined, defaultMemoryPerGpuBytes: options.defaultMemoryPerGpuBytes ?? null, pidsLimit: options.pidsLimit ?? DEFAULT_PIDS_LIMIT, gpuDevices: gpuDeviceNumbers(found.gpus),
  };
  return new LocalBackend(options, node, jobsDir, sandbox);
}

/** The line a server prints at start for a node that does not confine its jobs; null when it does. */
export function confinementWarning(node: Node): string | null {
  const c = node.confinement;
  return c && !c.enforced ? `limits not enforced on this host: ${c.reason ?? 'unknown reason'}` : null;
}

class LocalBackend implements Backend {
  readonly kind = 'local';
  readonly unsupported: Readonly<Partial<Record<keyof typeof LOCAL_UNSUPPORTED, string>>>;
  readonly stintPlaces = true;
  readonly identity: BackendIdentity = process.getuid?.() === 0
    ? { perUser: true }
    : { perUser: false, why: 'the server is not root, so every job runs as the server\'s own account' };
  readonly name: string;
  private readonly listeners: Array<() => void> = [];
  private readonly launcher: ProcessLauncher;
  /** Its containers' names start `stint-<this>-`: a short hash of the jobs dir, so two servers on one machine never share a name. */
  private readonly containerPrefix: string;
  /** Cleanups under way, by attempt: concurrent polls share one. */
  private readonly finishing = new Map<string, Promise<CgroupEvidence | null>>();

  constructor(
    private readonly options: LocalBackendOptions,
    private readonly node: Node,
    /** Where job directories live; shown to users as STINT_JOB_DIR. */
    readonly jobsDir: string,
    private readonly sandbox: SandboxSettings,
  ) {
    this.name = options.name;
    this.containerPrefix = createHash('sha256').update(jobsDir).digest('hex').slice(0, 8);
    this.launcher = new ProcessLauncher(() => this.notify(), launcherPidFile(options));
    const engine = options.containers;
    const { image, ...rest } = LOCAL_UNSUPPORTED;
    this.unsupported = engine && engine.unavailable === null ? rest : { ...rest, image: engine?.unavailable ?? image };
  }

  async inventory(): Promise<Inventory> {
    return { backend: this.name, nodes: [this.node] };
  }

  async launch(request: LaunchRequest): Promise<Launched> {
    const runAs = request.runAs ?? null;
    const owner = runAs && { uid: runAs.uid, gid: runAs.gid };
    const paths = await prepareAttempt(this.jobsDir, request.jobId, request.attempt, owner, request.workdirArchive);
    const vendor = this.node.gpus[0]?.vendor ?? 'nvidia';
    const imageId = request.spec.resources[0]?.imageId ?? null;
    const engine = imageId !== null && this.options.containers?.unavailable === null ? this.options.containers : null;
    let container: ContainerLaunch | null = null;
    const sandbox = await prepareSandbox(this.sandbox, request, paths.attemptDir, owner, engine && imageId !== null ? async (cgroupParent, limits) => {
      const home = runAs ? homeMount(runAs) : null;
      container = await engine.prepareLaunch({
        imageId, attemptName: `${this.containerPrefix}-${this.name}-${request.jobId}-${request.attempt}`, owner: request.owner ?? null,
        runAs: owner && runAs && { ...owner, groups: accountGroups(runAs) }, cgroupParent, gpus: request.gpus,
        mounts: [...(home ? [home] : []), ...[paths.workdir, paths.checkpoints].map((p) => ({ host: p, container: p, readOnly: false }))],
        workdir: paths.workdir, memoryBytes: limits.memoryBytes, cpus: limits.cpus, pidsLimit: limits.pidsMax,
      });
      return container.argv;
    } : undefined);
    const launched = container as ContainerLaunch | null;
    const env = {
      ...(runAs && loginEnvironment(runAs)),
      ...jobEnvironment(request, { rank: 0, numNodes: 1, nodeIps: ['127.0.0.1'], gpusPerNode: request.gpus.length }),
      ...gpuVisibility(request.gpus, vendor),
      STINT_CHECKPOINT_DIR: paths.checkpoints,
      STINT_JOB_DIR: paths.jobDir,
      TMPDIR: sandbox.tmpdir,
      ...launched?.env,
    };
    const handle = await this.launcher.start({
      dir: paths.attemptDir, workdir: paths.workdir, setup: request.spec.setup, run: request.spec.run, env, runAs: owner, plan: sandbox.plan,
    });
    const extra = { cgroup: sandbox.cgroup, account: owner, ...(launched && { image: launched.image, container: launched.name }) };
    return { handle: { ...handle, ...extra }, logPath: join(paths.attemptDir, 'output.log') };
  }

  async poll(attempts: readonly AttemptRef[]): Promise<Map<string, AttemptStatus>> {
    // Ended attempts are finished (cgroup read and removed, tmp/ emptied) side by side: one
    // attempt's cleanup never holds up the report of the others.
    const statuses = await Promise.all(attempts.map(async (ref) => {
      const status = processStatus(this.handleOf(ref));
      const evidence = status.state === 'running' ? null : await this.finish(ref);
      return [attemptKey(ref), toAttemptStatus(status, evidence, typeof (ref.handle as { container?: unknown }).container === 'string')] as const;
    }));
    return new Map(statuses);
  }

  /** SIGTERM reaches the attempt's process group; the final SIGKILL goes through its cgroup (escapees too). */
  async signal(attempt: AttemptRef, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    const cgroup = this.cgroupOf(attempt);
    const cgroups = this.sandbox.host.cgroups;
    if (signal === 'SIGKILL' && cgroups && cgroup && cgroups.exists(cgroup)) {
      await cgroups.kill(cgroup);
      return;
    }
    await signalGroup(this.handleOf(attempt), signal);
  }

  /** The end of an attempt's confinement (attempt-sandbox.ts), once; repeated after a restart. */
  private finish(ref: AttemptRef): Promise<CgroupEvidence | null> {
    const key = attemptKey(ref);
    let done = this.finishing.get(key);
    if (!done) {
      const h = ref.handle as { account?: Account | null; container?: unknown };
      const owner = h.account && typeof h.account.uid === 'number' && typeof h.account.gid === 'number' ? { uid: h.account.uid, gid: h.account.gid } : null;
      done = finishSandbox(this.sandbox, this.handleOf(ref).dir, this.cgroupOf(ref), owner).then(async (evidence) => {
        if (typeof h.container === 'string') await this.options.containers?.cleanup(h.container);
        return evidence;
      });
      this.finishing.set(key, done);
      // Settled: forgotten (a later poll repeats the cheap, idempotent steps and reads the evidence file).
      const forget = () => this.finishing.delete(key);
      done.then(forget, forget);
    }
    return done;
  }

  /** The attempt's cgroup follows from the jobs dir, job and attempt, so it is found after a restart too. */
  private cgroupOf(ref: AttemptRef): string | null {
    const recorded = (ref.handle as { cgroup?: unknown }).cgroup;
    if (recorded === null) return null;
    return this.sandbox.host.cgroups?.relative(ref.jobId, ref.attempt) ?? null;
  }

  async readLog(attempt: AttemptRef, offset: number, limit: number): Promise<LogChunk> {
    return readLogFile(join(this.handleOf(attempt).dir, 'output.log'), offset, limit);
  }

  /** Every attempt's directory follows from its job and number, so even a handle never recorded (a crash mid-launch) can be found. */
  private attemptDir(ref: { jobId: number; attempt: number }): string {
    return join(this.jobsDir, String(ref.jobId), `attempt-${ref.attempt}`);
  }

  private handleOf(ref: AttemptRef): ProcessHandle {
    const h = ref.handle as Partial<ProcessHandle>;
    return {
      dir: typeof h.dir === 'string' ? h.dir : this.attemptDir(ref),
      wrapperPid: typeof h.wrapperPid === 'number' ? h.wrapperPid : null,
      wrapperStart: h.wrapperStart ?? null,
    };
  }

  onActivity(listener: () => void): void {
    this.listeners.push(listener);
  }

  async close(): Promise<void> {
    this.listeners.length = 0;
    this.launcher.close();
    this.sandbox.host.cgroups?.removeBase();
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }
}

function toAttemptStatus(status: ReturnType<typeof processStatus>, evidence: CgroupEvidence | null, container = false): AttemptStatus {
  const exitCode = status.state === 'exited' ? status.exitCode : null;
  if (evidence && status.state !== 'running' && endedOutOfMemory(evidence, exitCode, container)) {
    const signal = status.state === 'exited' ? status.signal : null;
    const ended = signal ? `killed by ${signal}` : exitCode !== null ? `exit code ${exitCode}` : 'no exit status';
    return { state: 'ended', exitCode, signal, reason: 'out_of_memory', detail: outOfMemoryDetail(evidence, ended) };
  }
  switch (status.state) {
    case 'running':
      return { state: 'running' };
    case 'exited':
      return {
        state: 'ended',
        exitCode: status.exitCode,
        signal: status.signal,
        reason: 'exit',
        detail: status.signal ? `killed by ${status.signal}` : `exit code ${status.exitCode}`,
      };
    case 'never_started':
      return { state: 'ended', exitCode: null, signal: null, reason: 'launch_failed', detail: 'the server stopped before the job was started; nothing of it ran' };
    case 'lost':
      return { state: 'ended', exitCode: null, signal: null, reason: 'lost', detail: 'the job ended without recording an exit status (killed by SIGKILL, e.g. out of memory, or the machine rebooted)' };
  }
}

function launcherPidFile(options: LocalBackendOptions): string {
  return join(options.home, `launcher-${options.name}.pid`);
}

/**
 * Reads part of a log. Never through a link and only a regular file: on the local backend the
 * log's directory is the server's, so the job cannot swap the file (see attempt-files.ts).
 */
export async function readLogFile(path: string, offset: number, limit: number): Promise<LogChunk> {
  let opened: Awaited<ReturnType<typeof openLogForReading>>;
  try {
    opened = await openLogForReading(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { text: '', offset, nextOffset: offset, size: 0 };
    throw error;
  }
  const { file, size } = opened;
  try {
    const start = offset < 0 ? Math.max(0, size + offset) : Math.min(offset, size);
    const length = Math.min(limit, size - start);
    if (length <= 0) return { text: '', offset: start, nextOffset: start, size };
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await file.read(buffer, 0, length, start);
    return { text: buffer.subarray(0, bytesRead).toString('utf8'), offset: start, nextOffset: start + bytesRead, size };
  } finally {
    await file.close();
  }
}
