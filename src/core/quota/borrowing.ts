// Quotas with borrowing (Kueue's model, all projects in one cohort): which running jobs use their
// project's guaranteed GPUs and which run on borrowed capacity, and whether a job may start or queue.
// Pure: no I/O, no clock.
// Always: per (project, GPU type), jobs are counted oldest first, and a job whose running total
// passes the guarantee borrows — so the youngest jobs are the borrowers, and a job that was within
// the guarantee stays within it while it runs (older jobs only ever leave). A job that would
// borrow is refused when it is not preemptible; no job is allowed past its project's or its
// user's GPU cap. Free capacity is not judged here: the placement policy decides whether GPUs are free.

import type { GpuType, QuotaConfig, QuotaPendingJob, QuotaRunningJob, QuotaStanding, QuotaVerdict } from './types.js';

function typeKey(gpuType: GpuType): string {
  return gpuType.toLowerCase();
}

function bump(map: Map<string, number>, key: string, by: number): void {
  map.set(key, (map.get(key) ?? 0) + by);
}

/** Oldest first; ties by id so the order never depends on the input's order. */
export function compareStarted(a: QuotaRunningJob, b: QuotaRunningJob): number {
  return a.startedAt !== b.startedAt ? a.startedAt - b.startedAt : a.id - b.id;
}

/** The project's guaranteed GPUs of a type (0 when the project or the type is not listed). */
export function guaranteeOf(config: QuotaConfig, project: string, gpuType: GpuType): number {
  const quota = config.projects.find((p) => p.project === project);
  if (quota === undefined) return 0;
  const wanted = typeKey(gpuType);
  for (const [name, count] of Object.entries(quota.guaranteed)) if (typeKey(name) === wanted) return count;
  return 0;
}

/** Each running job's standing: within its project's guarantee for its GPU type, or borrowing. */
export function classifyRunning(running: readonly QuotaRunningJob[], config: QuotaConfig): Map<number, QuotaStanding> {
  const standing = new Map<number, QuotaStanding>();
  const totals = new Map<string, number>();
  for (const job of [...running].sort(compareStarted)) {
    const key = `${job.project}\u0000${typeKey(job.gpuType)}`;
    const total = (totals.get(key) ?? 0) + job.gpus;
    totals.set(key, total);
    standing.set(job.id, total > guaranteeOf(config, job.project, job.gpuType) ? 'borrowing' : 'guaranteed');
  }
  return standing;
}

/**
 * GPUs held by project, by (project, type) and by user, kept up to date as a pass starts jobs, so
 * that two jobs started in the same pass cannot together pass a cap.
 */
export class QuotaLedger {
  private readonly byProject = new Map<string, number>();
  private readonly byProjectType = new Map<string, number>();
  private readonly byUser = new Map<string, number>();

  constructor(
    private readonly config: QuotaConfig,
    running: readonly QuotaRunningJob[],
  ) {
    for (const job of running) this.add(job);
  }

  /** Counts a job as holding its GPUs (a running job, or one this pass just started). */
  add(job: Pick<QuotaRunningJob, 'user' | 'project' | 'gpuType' | 'gpus'>): void {
    bump(this.byProject, job.project, job.gpus);
    bump(this.byProjectType, `${job.project}\u0000${typeKey(job.gpuType)}`, job.gpus);
    bump(this.byUser, job.user, job.gpus);
  }

  /** GPUs of a type the project holds now. */
  held(project: string, gpuType: GpuType): number {
    return this.byProjectType.get(`${project}\u0000${typeKey(gpuType)}`) ?? 0;
  }

  /** May the job start now as far as quota goes, and would it borrow? */
  check(job: QuotaPendingJob): QuotaVerdict {
    const capped = this.capRefusal(job);
    if (capped !== null) return capped;
    const guarantee = guaranteeOf(this.config, job.project, job.gpuType);
    const borrowing = this.held(job.project, job.gpuType) + job.gpus > guarantee;
    if (borrowing && !job.preemptible) {
      const reason =
        `job ${job.id} is not preemptible, so it may use only project ${job.project}'s guaranteed ` +
        `${guarantee} × ${job.gpuType} (${this.held(job.project, job.gpuType)} in use, needs ${job.gpus})`;
      return { allowed: false, code: 'NOT_PREEMPTIBLE_BEYOND_GUARANTEE', reason };
    }
    return { allowed: true, borrowing };
  }

  private capRefusal(job: QuotaPendingJob): QuotaVerdict | null {
    const projectCap = this.config.projects.find((p) => p.project === job.project)?.maxGpus;
    const projectHeld = this.byProject.get(job.project) ?? 0;
    if (projectCap !== undefined && projectHeld + job.gpus > projectCap) {
      const reason = `project ${job.project} may hold at most ${projectCap} GPUs at once (${projectHeld} held, job needs ${job.gpus})`;
      return { allowed: false, code: 'PROJECT_GPU_CAP', reason };
    }
    const userCap = this.config.users.find((u) => u.user === job.user)?.maxGpus;
    const userHeld = this.byUser.get(job.user) ?? 0;
    if (userCap !== undefined && userHeld + job.gpus > userCap) {
      const reason = `user ${job.user} may hold at most ${userCap} GPUs at once (${userHeld} held, job needs ${job.gpus})`;
      return { allowed: false, code: 'USER_GPU_CAP', reason };
    }
    return null;
  }
}

/** May the job start now as far as quota goes (a one-off check; a pass should keep a QuotaLedger). */
export function mayStart(job: QuotaPendingJob, running: readonly QuotaRunningJob[], config: QuotaConfig): QuotaVerdict {
  return new QuotaLedger(config, running).check(job);
}

/**
 * May a new job join the queue (checked at submit)? `queued` are the jobs already waiting, without
 * this one. `borrowing` in the answer is always false: it says nothing about running.
 */
export function mayQueue(
  job: Pick<QuotaPendingJob, 'user' | 'project'>,
  queued: readonly Pick<QuotaPendingJob, 'user' | 'project'>[],
  config: QuotaConfig,
): QuotaVerdict {
  const projectCap = config.projects.find((p) => p.project === job.project)?.maxQueued;
  const projectQueued = queued.filter((q) => q.project === job.project).length;
  if (projectCap !== undefined && projectQueued >= projectCap) {
    const reason = `project ${job.project} may have at most ${projectCap} jobs queued (${projectQueued} queued)`;
    return { allowed: false, code: 'PROJECT_QUEUE_CAP', reason };
  }
  const userCap = config.users.find((u) => u.user === job.user)?.maxQueued;
  const userQueued = queued.filter((q) => q.user === job.user).length;
  if (userCap !== undefined && userQueued >= userCap) {
    const reason = `user ${job.user} may have at most ${userCap} jobs queued (${userQueued} queued)`;
    return { allowed: false, code: 'USER_QUEUE_CAP', reason };
  }
  return { allowed: true, borrowing: false };
}
