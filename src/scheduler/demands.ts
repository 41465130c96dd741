// Turns a task spec's resource choices into the policy's demands. Unstated CPUs and memory are
// not reserved (a job that states `cpus: 4` gets 4 CPUs set aside; one that says nothing is not
// limited), so the policy's accounting reflects exactly what tasks asked for.

import type { PendingJob, Demand } from '../core/policy/types.js';
import type { TaskSpec } from '../core/spec/types.js';
import type { JobRow } from '../store/types.js';

export function demandsOf(spec: TaskSpec): Demand[] {
  return spec.resources.map((choice) => ({
    gpuName: choice.accelerator?.name ?? null,
    gpus: choice.accelerator ? Math.ceil(choice.accelerator.count) : 0,
    cpus: choice.cpus?.value ?? 0,
    memoryGb: choice.memoryGb?.value ?? 0,
  }));
}

/** The policy's view of a queued job: only the resource choices admission accepted, in order. */
export function toPendingJob(job: JobRow): PendingJob {
  const all = demandsOf(job.spec);
  return {
    id: job.id,
    priority: job.priority,
    submittedAt: job.submittedAt,
    demands: job.choices.map((index) => all[index]!).filter((demand) => demand !== undefined),
    ordered: job.spec.ordered,
    preemptible: job.spec.preemptible,
    user: job.owner,
    project: job.project ?? undefined,
    runtimeLimitMs: job.spec.maxRuntimeSeconds === null ? null : job.spec.maxRuntimeSeconds * 1000,
  };
}
