// The Slurm backend: each attempt is one Slurm batch job; Slurm orders and places it (stintPlaces
// is false), stint reads what happened. Invariants: a poll costs at most two Slurm commands
// whatever the number of attempts — one listing of every job slurmctld still holds
// (`scontrol -d show job -o` by default, or `squeue --json`) and,
// only for attempts squeue no longer lists, one `sacct` (or `sacct -c` on jobcomp/filetxt) with
// all their ids; inventory is one `sinfo`. Every file an attempt needs lives under
// <workdir>/jobs/<jobId>/, so an attempt can be read back from its job id and number alone.
// Identity: a root server that reaches Slurm locally submits each job as its owner's mapped
// account (client.ts `submit`, through setpriv; munge then vouches for that account), so Slurm runs
// the job under that uid and the job needs root for nothing after submission; polling and scancel
// stay with the server's account (Slurm's operator). What that submission prints is its account's
// word, never trusted: the job id is recorded only once Slurm, asked by the server, holds it as that
// uid's job of this attempt (`submittedJob`), and every scancel of a handle with a uid carries
// `--user=<uid>`, so a wrong id can never reach another account's job. The job's folder is laid
// out by job-files.ts (the server's folders, the job's 0700 ones, logs read back only if they are the job's own
// regular file). Secrets never lie on the shared filesystem (translate.ts): there is no env file to
// remove when the attempt ends; Slurm drops the job's environment with the job. In SSH mode, or on
// a non-root server, every job runs as the one account (identity.perUser false, with the reason),
// unless `submitAs: sudo` (a root server, SSH): then every command of an attempt (writing its
// files, sbatch, scancel, reading its log) runs as the owner's account on the login node through
// `sudo -n -u`, the job's folder is made by that account (or must already be its own), and the
// job id is checked by the owner's name in Slurm's own listing.
// Containers: one probe at creation (containers.ts) finds pyxis, an oci.conf or apptainer (or the
// `containers` key says which); `unsupported.image` is set only when there is none, with why.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { StintError } from '../../core/errors.js';
import type { Inventory } from '../../core/inventory.js';
import type { Feature } from '../../core/spec/types.js';
import { unpackWorkdir } from '../../workdir/unpack.js';
import { type AttemptRef, type AttemptStatus, type Backend, type BackendIdentity, type Launched, type LaunchRequest, type LogChunk, attemptKey } from '../backend.js';
import { type SlurmConfig, parseSlurmConfig } from './config.js';
import { type FileToWrite, SlurmClient, type SshTarget, type SubmitAs } from './client.js';
import { prepareAttemptFolder, readOwnedLog } from './job-files.js';
import { parseSacct, parseScontrolJobs, parseSqueueJson, SACCT_FIELDS, type SlurmJobRecord } from './records.js';
import { parseSinfo, SINFO_ARGS, type SlurmNode } from './sinfo.js';
import { attemptStatus, QUEUED_STATES } from './states.js';
import { attemptLogPath, batchFiles, slurmJobName } from './translate.js';
import { type ContainerSupport, detectContainers, imageRefusal, PROBE_SCRIPT } from './containers.js';

export const SLURM_UNSUPPORTED = {
  spot: 'spot instances exist only on clouds; a Slurm cluster is not preemptible capacity (use a preemptible QOS instead)',
  cloud_infra: 'a Slurm backend cannot provision cloud machines; use `infra: slurm/<name>[/partition]`',
  bucket_mount: 'bucket mounts need cloud storage credentials and a mount tool on every node; stage the data on the shared filesystem',
  local_file_mount: 'file_mounts are not copied to the cluster yet; put the files in `workdir` or on the shared filesystem',
  volume: 'volumes are managed by Kubernetes/cloud backends; use a path on the shared filesystem',
  ports: 'jobs use the nodes’ network directly; ports need no declaration and cannot be reserved',
  disk_size: 'Slurm does not size a per-job disk here',
  fractional_gpu: 'Slurm allocates whole GPUs; ask for a whole number of GPUs',
  job_recovery: 'managed-job recovery is a cloud feature; use stint `retries` (Slurm requeues the job on node failure)',
  service: 'serving (`service`) is not supported',
  pipeline: 'multi-task pipelines are not supported yet; submit each task on its own',
  other: 'this field configures cloud machines and has no meaning on a Slurm cluster',
} as const;

export interface SlurmBackendDeps {
  /** Extra environment for local commands (tests). */
  env?: Record<string, string>;
  /** Prefix of field paths in config errors, e.g. `backends[1]`. */
  where?: string;
}

/** Builds a Slurm backend from raw config (validated here; errors name the field). */
export async function createSlurmBackend(raw: unknown, deps: SlurmBackendDeps = {}): Promise<SlurmBackend> {
  const config = parseSlurmConfig(raw, deps.where);
  const ssh: SshTarget | undefined = config.ssh && { ...config.ssh, key: config.ssh.key?.replace(/^~(?=\/)/, process.env.HOME ?? '~') };
  const env = { ...(config.slurmConf ? { SLURM_CONF: config.slurmConf } : {}), ...deps.env };
  const client = new SlurmClient({ ssh, timeoutSeconds: config.commandTimeoutSeconds, env });
  const backend = new SlurmBackend(config, client);
  await backend.detectContainers();
  return backend;
}

interface SlurmHandle {
  slurmJobId: number | null;
  /** The attempt the Slurm job was submitted as; later attempts are its Slurm restarts. */
  base: number | null;
  /** The account whose files the attempt's log must be (local mode). */
  uid: number | null;
  /** The login node's account the attempt was submitted as through sudo (SSH mode). */
  user: string | null;
}

const USER_NAME = /^[a-z_][a-z0-9_.-]{0,31}$/i;

const SERVER_UID = process.getuid?.() ?? 0;

export class SlurmBackend implements Backend {
  readonly kind = 'slurm';
  /** What the cluster offers for `image_id` (containers.ts); re-probed on inventory while the probe fails. */
  containers: ContainerSupport = { mode: 'none', how: 'the cluster was not probed yet', apptainer: 'apptainer' };
  private probed = false;
  readonly stintPlaces = false;
  readonly identity: BackendIdentity;
  readonly name: string;
  private readonly listeners: Array<() => void> = [];
  private nodes: SlurmNode[] = [];
  private inventoryAt = 0;
  private cached: Inventory | null = null;

  constructor(
    readonly config: SlurmConfig,
    readonly client: SlurmClient,
  ) {
    this.name = config.name;
    this.identity = client.remote && config.submitAs === 'sudo' && SERVER_UID === 0
      ? { perUser: true }
      : client.remote && config.submitAs === 'sudo'
        ? { perUser: false, why: `backend ${config.name} may submit through sudo, but the server is not root, and only a root server maps stint users to Unix accounts; every job runs as the SSH account ${config.ssh?.user ?? '(the SSH default)'}` }
        : client.remote
          ? { perUser: false, why: `backend ${config.name} reaches Slurm over SSH as the one account ${config.ssh?.user ?? '(the SSH default)'}, so every user's job runs as that account (set submitAs: sudo when that account may sudo -n -u each user on the login node)` }
          : SERVER_UID !== 0
        ? { perUser: false, why: `the server is not root, so backend ${config.name} can only submit Slurm jobs as the server's own account; run the server as root to submit each job as its owner's account` }
        : { perUser: true };
  }

  /** SLURM_UNSUPPORTED, plus `image` when the cluster runs no containers (with what was looked for). */
  get unsupported(): Readonly<Partial<Record<Feature, string>>> {
    const image = imageRefusal(this.containers, this.name);
    return image ? { ...SLURM_UNSUPPORTED, image } : SLURM_UNSUPPORTED;
  }

  /** One probe command (containers.ts): pyxis, an oci.conf, apptainer; `containers:` in the config wins. */
  async detectContainers(): Promise<ContainerSupport> {
    const configured = this.config.containers;
    const probe = configured === 'auto' ? await this.client.run('bash', ['-c', PROBE_SCRIPT]).catch(() => null) : null;
    const output = probe && probe.code === 0 ? probe.stdout : null;
    this.probed = configured !== 'auto' || output !== null;
    this.containers = detectContainers(output, configured);
    return this.containers;
  }

  /** Slurm commands issued so far (the benchmark checks a poll's cost with it). */
  get commandsRun(): number {
    return this.client.commandsRun;
  }

  /** The inventory, re-read from sinfo when older than 2 s (the scheduler and the API ask often). */
  async inventory(): Promise<Inventory> {
    if (this.cached && Date.now() - this.inventoryAt < 2000) return this.cached;
    return this.refreshInventory();
  }

  /** One sinfo call: nodes, partitions, GPUs and node states. */
  async refreshInventory(): Promise<Inventory> {
    const parsed = parseSinfo(await this.client.check('sinfo', SINFO_ARGS), this.name);
    if (!this.probed) await this.detectContainers();
    this.nodes = parsed.nodes;
    this.cached = parsed.inventory;
    this.inventoryAt = Date.now();
    return parsed.inventory;
  }

  /** Nodes with their partitions and Slurm state (for `stint gpus` details and the docs). */
  async slurmNodes(): Promise<SlurmNode[]> {
    await this.inventory();
    return this.nodes;
  }

  async launch(request: LaunchRequest): Promise<Launched> {
    const jobDir = this.jobDir(request.jobId);
    if (this.nodes.length === 0) await this.inventory().catch(() => undefined);
    const project = request.spec.project ? this.config.projects?.[request.spec.project] : undefined;
    const built = batchFiles(request, {
      jobDir,
      partition: this.partitionFor(request) ?? project?.partition ?? this.config.partition ?? null,
      account: project?.account ?? this.config.account ?? null,
      qos: project?.qos ?? this.config.qos ?? null,
      gresType: (requested) => this.nodes.flatMap((n) => n.gresTypes).find((t) => t.toLowerCase() === requested.toLowerCase()) ?? null,
      warnSeconds: this.config.warnSeconds,
      containers: this.containers,
    });
    const as = this.submitAs(request);
    if (this.client.remote) {
      const files: FileToWrite[] = [...built.files];
      if (request.workdirArchive) files.push(await this.remoteWorkdir(request.workdirArchive, jobDir));
      if (as) await this.sharedJobsFolder();
      await this.client.writeFiles(files, as ? { user: as.user, ownDir: jobDir } : undefined);
    } else {
      await prepareAttemptFolder({ workdir: this.workdir, jobDir, attemptDir: built.attemptDir, owner: as, files: built.files, workdirArchive: request.workdirArchive });
    }
    const out = await this.client.submit(built.scriptPath, built.environment, as, this.client.remote ? '/' : built.attemptDir);
    const printed = Number(out.trim().split(';')[0]);
    const slurmJobId = as ? await this.submittedJob(request, as, printed, built.scriptPath) : printed;
    if (!Number.isInteger(slurmJobId)) throw new StintError('BACKEND_ERROR', `sbatch printed ${JSON.stringify(out.trim())}, not a job id`, {});
    this.notify();
    const handle: Record<string, unknown> = { slurmJobId, base: request.attempt };
    if (!this.client.remote) handle.uid = as?.uid ?? SERVER_UID;
    else if (as) handle.user = as.user;
    return { handle, logPath: `${built.attemptDir}/output.log` };
  }

  /**
   * The Slurm job a submission under `as` made. Its sbatch ran as `as`, so what it printed is that
   * account's word (another of its processes can write into that stdout first): the printed id counts
   * only if Slurm, asked by the server, holds it as this attempt's job — `as`'s uid, this attempt's
   * name, folder and script. Otherwise the job is looked for by those four in one listing; none: a
   * BACKEND_ERROR; several (only `as` can have made them): all cancelled, and a BACKEND_ERROR.
   */
  private async submittedJob(request: LaunchRequest, as: SubmitAs, printed: number, script: string): Promise<number> {
    const name = slurmJobName(request.jobId, request.attempt, request.name);
    // Over SSH the login node's uid of the name may differ from this machine's: the name decides there.
    const remote = this.client.remote;
    const ours = (job: ScontrolJob): boolean => (remote ? job.user === as.user : job.uid === as.uid) && job.record.name === name &&
      job.record.workDir === this.jobDir(request.jobId) && job.command === script;
    if (Number.isInteger(printed) && printed > 0) {
      const r = await this.client.run('scontrol', ['show', 'job', String(printed), '-o']);
      if (r.code === 0 && scontrolJobs(r.stdout).some((job) => job.record.jobId === printed && ours(job))) return printed;
    }
    const found = scontrolJobs(await this.listWithScontrol()).filter(ours).map((job) => job.record.jobId);
    const what = `stint-${request.jobId}.${request.attempt} (as ${as.user})`;
    if (found.length === 1) return found[0]!;
    if (found.length === 0) throw new StintError('BACKEND_ERROR', `sbatch for ${what} printed ${printed}, which is not its job, and Slurm holds no job of ${as.user} for it`, { printed });
    await this.client.run('scancel', [`--user=${remote ? as.user : as.uid}`, ...found.map(String)], undefined, remote ? as.user : undefined);
    throw new StintError('BACKEND_ERROR', `Slurm holds ${found.length} jobs of ${as.user} for ${what} (${found.join(', ')}); all were cancelled`, { found });
  }

  /** The owner's account on a root server that submits locally; null: the server's own (or the SSH account). */
  private submitAs(request: LaunchRequest): SubmitAs | null {
    if (!this.identity.perUser || !request.runAs || request.runAs.uid === SERVER_UID) return null;
    return request.runAs;
  }

  async poll(attempts: readonly AttemptRef[]): Promise<Map<string, AttemptStatus>> {
    const result = new Map<string, AttemptStatus>();
    if (attempts.length === 0) return result;
    const live = this.config.listing === 'scontrol'
      ? parseScontrolJobs(await this.listWithScontrol())
      : parseSqueueJson(await this.client.check('squeue', ['--json']));
    const byId = new Map(live.map((r) => [r.jobId, r]));
    const missing: Array<{ ref: AttemptRef; id: number | null }> = [];
    for (const ref of attempts) {
      const id = handleOf(ref).slurmJobId;
      const record = id !== null ? byId.get(id) : findByName(live, ref, this.jobDir(ref.jobId));
      if (record) result.set(attemptKey(ref), attemptStatus(record));
      else missing.push({ ref, id });
    }
    if (missing.length > 0) {
      const finished = await this.finishedJobs(missing.map((m) => m.id).filter((id): id is number => id !== null));
      for (const { ref, id } of missing) {
        const record = id !== null ? finished.get(id) : undefined;
        result.set(attemptKey(ref), record ? attemptStatus(record) : {
          state: 'ended', exitCode: null, signal: null, reason: 'lost',
          detail: id === null ? 'no Slurm job was found for this attempt (was it ever submitted?)' : `Slurm no longer knows job ${id} (not in squeue, nor in ${this.config.finishedJobs === 'sacct' ? 'sacct' : 'the job completion log'})`,
        });
      }
    }
    return result;
  }

  async signal(attempt: AttemptRef, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    const { slurmJobId: id, uid, user: owner } = handleOf(attempt);
    if (id === null) return;
    // A second guard: with the owner's uid, Slurm touches the job only if it is that account's (handles saved without one, and SSH's, go without).
    // Over SSH with sudo the owner's own account sends it (the SSH account need not be Slurm's operator).
    const user = uid !== null ? [`--user=${uid}`] : owner !== null ? [`--user=${owner}`] : [];
    const as = owner ?? undefined;
    if (signal === 'SIGKILL') {
      // Every process of every step and the batch shell: the job ends FAILED 0:9 (or CANCELLED if pending).
      await this.client.run('scancel', [...user, '--signal=KILL', '--full', String(id)], undefined, as);
    } else {
      // A queued job has no processes to signal (scancel --signal would do nothing): cancel it.
      const state = (await this.client.run('squeue', ['-h', ...user, '-j', String(id), '-o', '%T'])).stdout.trim();
      if (QUEUED_STATES.has(state)) await this.client.run('scancel', [...user, String(id)], undefined, as);
      // TERM to the tasks of the running steps; the batch shell waits for their exit status.
      else await this.client.run('scancel', [...user, '--signal=TERM', String(id)], undefined, as);
    }
    this.notify();
  }

  async readLog(attempt: AttemptRef, offset: number, limit: number): Promise<LogChunk> {
    const handle = handleOf(attempt);
    const path = attemptLogPath(this.jobDir(attempt.jobId), handle.base ?? attempt.attempt, attempt.attempt);
    if (this.client.remote) return this.client.readRange(path, offset, limit, handle.user ?? undefined);
    return readOwnedLog(path, handle.uid ?? SERVER_UID, offset, limit);
  }

  onActivity(listener: () => void): void {
    this.listeners.push(listener);
  }

  async close(): Promise<void> {
    this.listeners.length = 0;
  }

  /** `scontrol -d show job -o` (-d adds DerivedExitCode, where a step's OOM shows); with no job at all it prints a message. */
  private async listWithScontrol(): Promise<string> {
    const r = await this.client.run('scontrol', ['-d', 'show', 'job', '-o']);
    if (r.code === 0 || /no jobs in the system/i.test(r.stdout + r.stderr)) return r.stdout;
    throw new StintError('BACKEND_ERROR', `scontrol show job failed (exit ${r.code}): ${r.stderr.trim().slice(0, 300)}`, { command: 'scontrol' });
  }

  private jobsFolderReady = false;

  /** `<workdir>/jobs` as every account's (sticky, like /tmp), made once by the SSH account, for submitAs: sudo. */
  private async sharedJobsFolder(): Promise<void> {
    if (this.jobsFolderReady) return;
    await this.client.check('bash', ['-c', 'mkdir -p "$1" && { [ "$(stat -c %a "$1")" = 1777 ] || chmod 1777 "$1"; }', 'jobs-folder', `${this.workdir}/jobs`]);
    this.jobsFolderReady = true;
  }

  private get workdir(): string {
    return this.config.workdir.replace(/\/+$/, '') || '/';
  }

  private jobDir(jobId: number): string {
    return `${this.config.workdir.replace(/\/+$/, '')}/jobs/${jobId}`;
  }

  /** `infra: slurm/<this backend>/<partition>` names the partition. */
  private partitionFor(request: LaunchRequest): string | null {
    for (const choice of request.spec.resources) {
      const parts = choice.infra?.split('/') ?? [];
      if (parts[0] === 'slurm' && parts[1] === this.name && parts[2]) return parts[2];
    }
    return null;
  }

  private async finishedJobs(ids: number[]): Promise<Map<number, SlurmJobRecord>> {
    if (ids.length === 0) return new Map();
    const args = this.config.finishedJobs === 'jobcomp'
      ? ['-c', '-n', '-P', '-o', SACCT_FIELDS, '-j', ids.join(',')]
      : ['-X', '-n', '-P', '-o', SACCT_FIELDS, '-j', ids.join(','), '-S', 'now-30days'];
    const result = await this.client.run('sacct', args);
    if (result.code !== 0) throw new StintError('BACKEND_ERROR', `sacct failed: ${result.stderr.trim().slice(0, 300)}`, { command: 'sacct' });
    return new Map(parseSacct(result.stdout).map((r) => [r.jobId, r]));
  }

  /**
   * The workdir snapshot for a job reached over SSH: unpacked here with stint's checks, re-packed by
   * tar, and shipped to be unpacked by the batch script (locally, job-files.ts unpacks it).
   */
  private async remoteWorkdir(archive: string, jobDir: string): Promise<FileToWrite> {
    const tmp = await mkdtemp(join(tmpdir(), 'stint-slurm-work-'));
    try {
      await unpackWorkdir(archive, tmp);
      const tar = spawnSync('tar', ['-czf', '-', '-C', tmp, '.'], { maxBuffer: 256 << 20 });
      if (tar.status !== 0) throw new StintError('BACKEND_ERROR', `cannot re-pack the workdir: ${tar.stderr.toString()}`, {});
      return { path: `${jobDir}/work.tar.gz`, content: tar.stdout, mode: 0o600 };
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }
}

function handleOf(ref: AttemptRef): SlurmHandle {
  const int = (value: unknown): number | null => (typeof value === 'number' && Number.isInteger(value) ? value : null);
  const name = typeof ref.handle.user === 'string' && USER_NAME.test(ref.handle.user) ? ref.handle.user : null;
  return { slurmJobId: int(ref.handle.slurmJobId), base: int(ref.handle.base), uid: int(ref.handle.uid), user: name };
}

export interface ScontrolJob {
  record: SlurmJobRecord;
  /** The number in `UserId=name(uid)`; null when the line has none. */
  uid: number | null;
  /** The name in `UserId=name(uid)`; null when the line has none. */
  user: string | null;
  /** The batch script (`Command=`); null when the line has none. */
  command: string | null;
}

/** `scontrol show job -o` lines with the owner and script that records.ts' shared record shape leaves out. */
export function scontrolJobs(text: string): ScontrolJob[] {
  const jobs: ScontrolJob[] = [];
  for (const line of text.split('\n')) {
    const [record] = parseScontrolJobs(line);
    if (!record) continue;
    const uid = / UserId=([^ ]*)\((\d+)\)(?= |$)/.exec(line);
    // A value ends where the next ` Key=` starts (as in records.ts).
    const command = / Command=(.*?)(?= [A-Za-z][A-Za-z0-9_/:]*=|\s*$)/.exec(line);
    jobs.push({ record, uid: uid ? Number(uid[2]) : null, user: uid ? uid[1]! : null, command: command ? command[1]! : null });
  }
  return jobs;
}

/**
 * An attempt whose handle was never recorded (a crash right after sbatch) is found by its job name
 * and its working directory: job ids restart per stint server, so another server's `stint-7.1`
 * on the same cluster has the same name, but never this backend's <workdir>/jobs/7.
 */
function findByName(live: readonly SlurmJobRecord[], ref: AttemptRef, jobDir: string): SlurmJobRecord | undefined {
  const prefix = slurmJobName(ref.jobId, ref.attempt, null);
  return live.find((r) => (r.name === prefix || r.name.startsWith(`${prefix}-`)) && (r.workDir === undefined || r.workDir === jobDir));
}
