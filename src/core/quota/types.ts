// The quota and preemption policy's inputs and outputs: plain data, no I/O, no clock. The
// scheduler loop and the simulator build these from their own state (projects' quota settings,
// running attempts, the queue) and call `borrowing.ts` and `preemption.ts`.
// Always: GPU counts are whole, non-negative numbers; GPU types are matched case-insensitively
// (as the placement policy matches `Gpu.name`); times are epoch milliseconds passed in by the caller.

/** A GPU model name as the inventory normalises it (`A100`, `H100`, `M2-Max`). */
export type GpuType = string;

/** A project's quota (Kueue: a ClusterQueue's nominal quota, with all projects in one cohort). */
export interface ProjectQuota {
  project: string;
  /** GPUs of each type the project can always get back (by preemption if others borrowed them). */
  guaranteed: Record<GpuType, number>;
  /** Cap on the GPUs (all types together) the project's jobs may hold at once; absent = no cap. */
  maxGpus?: number;
  /** Cap on the project's jobs waiting in the queue; absent = no cap. */
  maxQueued?: number;
}

/** Per-user caps, across all projects the user submits to. */
export interface UserCaps {
  user: string;
  maxGpus?: number;
  maxQueued?: number;
}

/** The whole quota configuration; a project not listed has no guarantee and no caps. */
export interface QuotaConfig {
  projects: readonly ProjectQuota[];
  users: readonly UserCaps[];
}

/** A running job that started by preempting others: whom it displaced (for the no-cycle rule). */
export interface PreemptedRef {
  id: number;
  project: string;
  priority: number;
}

/** A running job (its current attempt) as the quota and preemption logic sees it. */
export interface QuotaRunningJob {
  id: number;
  user: string;
  project: string;
  gpuType: GpuType;
  /** GPUs it holds, all on `node`. 0 = CPU-only (never counted, never a victim). */
  gpus: number;
  node: string;
  /** When its current attempt started (epoch ms). */
  startedAt: number;
  preemptible: boolean;
  priority: number;
  /** The jobs this attempt displaced when it started; absent or empty = it started normally. */
  startedByPreempting?: readonly PreemptedRef[];
  /** Already told to stop (SIGTERM sent, grace period running): its GPUs are about to be free. */
  terminating?: boolean;
}

/** A job waiting in the queue, with the GPU type it will run on already resolved. */
export interface QuotaPendingJob {
  id: number;
  user: string;
  project: string;
  gpuType: GpuType;
  /** GPUs wanted on one node. */
  gpus: number;
  priority: number;
  submittedAt: number;
  preemptible: boolean;
}

/** Whether a running job counts against its project's guarantee or runs on borrowed capacity. */
export type QuotaStanding = 'guaranteed' | 'borrowing';

export type QuotaRefusalCode = 'PROJECT_GPU_CAP' | 'USER_GPU_CAP' | 'NOT_PREEMPTIBLE_BEYOND_GUARANTEE' | 'PROJECT_QUEUE_CAP' | 'USER_QUEUE_CAP';

/** The quota's answer for one job: may it start (or queue), and would it borrow. */
export type QuotaVerdict =
  | { allowed: true; borrowing: boolean }
  | { allowed: false; code: QuotaRefusalCode; reason: string };

export type PreemptionKind = 'reclaim' | 'priority';

export interface PreemptionOptions {
  /** A job younger than this is never preempted. Default 5 minutes. */
  minRuntimeMs?: number;
  /** Allow a project below its guarantee to take GPUs back from borrowers. Default true. */
  reclaim?: boolean;
  /** Allow a higher-priority job to preempt lower-priority borrowers. Default true. */
  priority?: boolean;
}

/** What to preempt so that job `for` can start on `node`. */
export interface PreemptionChoice {
  victims: number[];
  for: number;
  node: string;
  kind: PreemptionKind;
  /** A sentence for humans and for the victims' event log. */
  reason: string;
}

export const DEFAULT_MIN_RUNTIME_MS = 5 * 60_000;
/** The grace period between SIGTERM and SIGKILL the scheduler should use by default (as Slurm's GraceTime). */
export const DEFAULT_GRACE_MS = 60_000;
