// The wire format: one set of zod schemas shared by the server (validation, OpenAPI), the CLI
// and the web UI. Times are ISO 8601 strings; ids are integers. Secrets never appear here.

import { z } from 'zod';
import { JOB_STATES } from '../core/job-state.js';

export const JobStateSchema = z.enum(JOB_STATES);

export const ErrorBodySchema = z.object({
  code: z.string(),
  message: z.string(),
  details: z.record(z.string(), z.unknown()),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

export const JobSchema = z.object({
  id: z.number().int(),
  name: z.string().nullable(),
  owner: z.string(),
  user: z.string().describe('the submitting user (same as owner)'),
  project: z.string().nullable(),
  priority: z.number().int().describe("the task's explicit priority key"),
  priorityScore: z.number().nullable().describe('pending jobs: the multifactor priority the queue is ordered by'),
  priorityFactors: z
    .object({ fairShare: z.number(), age: z.number(), explicit: z.number(), size: z.number() })
    .nullable()
    .describe('pending jobs: each normalised factor in [0, 1] (see docs/fair-share.md)'),
  state: JobStateSchema,
  reason: z.string().nullable(),
  exitCode: z.number().int().nullable(),
  signal: z.string().nullable(),
  backend: z.string().nullable(),
  node: z.string().nullable(),
  gpus: z.array(z.number().int()).describe('GPU indices held by the current (or last) attempt'),
  attempt: z.number().int(),
  resources: z.string().describe('what the job asks for, e.g. "2 × A100"'),
  maxRuntimeSeconds: z.number().nullable(),
  submittedAt: z.string(),
  startedAt: z.string().nullable(),
  endedAt: z.string().nullable(),
  waitReason: z.string().nullable().describe('why a pending job waits, from the latest scheduling pass'),
  onBorrowedGpus: z.boolean().nullable().describe("running jobs: beyond their project's guaranteed quota, so preemptible (null: no quotas set)"),
  estimatedStartAt: z.string().nullable(),
  queuePosition: z.number().int().nullable(),
});
export type JobView = z.infer<typeof JobSchema>;

export const EventSchema = z.object({
  at: z.string(),
  from: JobStateSchema.nullable(),
  to: JobStateSchema,
  reason: z.string(),
});

export const AttemptSchema = z.object({
  attempt: z.number().int(),
  backend: z.string(),
  node: z.string().nullable(),
  gpus: z.array(z.number().int()),
  startedAt: z.string(),
  endedAt: z.string().nullable(),
  exitCode: z.number().int().nullable(),
  signal: z.string().nullable(),
  endReason: z.string().nullable(),
  image: z.object({ ref: z.string(), digest: z.string() }).nullable().optional().describe('the container image the attempt ran (image_id as written and the digest of what ran); null: not in a container'),
  logPath: z.string().nullable().optional().describe("the attempt's output.log on the server's machine, readable by the job's own Unix account; its job directory (work/, checkpoints/) is two levels up"),
});

export const JobDetailSchema = JobSchema.extend({
  spec: z.record(z.string(), z.unknown()).describe('the normalised task spec; secret values masked'),
  events: z.array(EventSchema),
  attempts: z.array(AttemptSchema),
});
export type JobDetailView = z.infer<typeof JobDetailSchema>;

export const SubmitRequestSchema = z.object({
  task: z.string().min(1).describe('the task file text (SkyPilot task YAML plus stint keys)'),
  fileName: z.string().optional(),
  env: z.record(z.string(), z.string()).optional().describe('overrides for envs, as `--env K=V`'),
  secrets: z.record(z.string(), z.string()).optional().describe('values for secrets, as `--secret K=V`'),
  exportedEnv: z
    .record(z.string(), z.string())
    .optional()
    .describe("the submitter's environment (`stint launch --export-env`, or a task with export_env: true): lowest in priority, stored sealed with the job, never shown; no STINT_*, SLURM_*, HOME, USER, LOGNAME or GPU visibility names"),
  workdirUpload: z.string().regex(/^[a-f0-9]{64}$/).optional().describe('id returned by POST /api/v1/uploads'),
  dryRun: z.boolean().optional(),
});
export type SubmitRequest = z.infer<typeof SubmitRequestSchema>;

export const VerdictSchema = z.object({
  ok: z.boolean(),
  backend: z.string().nullable(),
  summary: z.string(),
  problems: z.array(
    z.object({
      field: z.string(),
      message: z.string(),
      line: z.number().int().optional(),
      col: z.number().int().optional(),
    }),
  ),
});

export const SubmitResponseSchema = z.object({
  id: z.number().int().nullable().describe('null for a dry run'),
  job: JobSchema.nullable(),
  verdict: VerdictSchema,
  spec: z.array(z.record(z.string(), z.unknown())).describe('dry runs only: the normalised spec of each task, secrets masked (empty for an accepted job)'),
});
export type SubmitResponse = z.infer<typeof SubmitResponseSchema>;

export const UploadResponseSchema = z.object({ id: z.string(), bytes: z.number().int() });

export const JobListQuerySchema = z.object({
  all: z.enum(['true', 'false']).optional().describe('include finished jobs'),
  state: z.string().optional().describe('comma-separated states'),
  limit: z.coerce.number().int().min(1).max(10_000).optional(),
  before: z.coerce.number().int().optional(),
  user: z.string().optional().describe("only this user's jobs"),
  project: z.string().optional(),
  backend: z.string().optional(),
  since: z.string().optional().describe('only jobs submitted at or after this ISO time'),
  q: z.string().max(200).optional().describe('case-insensitive substring of the job name'),
  sort: z.enum(['id', 'name', 'owner', 'project', 'state', 'submittedAt']).optional().describe('default id'),
  order: z.enum(['asc', 'desc']).optional().describe('default desc'),
  offset: z.coerce.number().int().min(0).optional().describe('rows to skip; when given, the answer carries `total`'),
});

export const JobListSchema = z.object({
  jobs: z.array(JobSchema),
  total: z.number().int().optional().describe('how many jobs match the filters (only when `offset` was given)'),
});

export const IdParamsSchema = z.object({ id: z.coerce.number().int().positive() });

export const CancelResponseSchema = z.object({ id: z.number().int(), state: JobStateSchema, message: z.string() });

export const LogQuerySchema = z.object({
  offset: z.coerce.number().int().optional().describe('byte offset; negative = from the end'),
  limit: z.coerce.number().int().min(1).max(16 * 1024 * 1024).optional(),
  attempt: z.coerce.number().int().positive().optional(),
});

export const LogChunkSchema = z.object({
  text: z.string(),
  offset: z.number().int(),
  nextOffset: z.number().int(),
  size: z.number().int(),
  attempt: z.number().int().nullable(),
  done: z.boolean().describe('true when the attempt has ended: no more output will come'),
});
export type LogChunkView = z.infer<typeof LogChunkSchema>;

export const GpuViewSchema = z.object({
  backend: z.string(),
  node: z.string(),
  index: z.number().int(),
  name: z.string(),
  model: z.string(),
  memoryMb: z.number(),
  vendor: z.string(),
  healthy: z.boolean(),
  /** Why the GPU takes no new jobs (drained by an admin or by a failed health check); null when it does. */
  drained: z.string().nullable(),
  /** Slurm's node state (idle, mixed, allocated, drained, down); null on the local backend. */
  nodeState: z.string().nullable(),
  partitions: z.array(z.string()),
  /** true: the engine (Slurm) allocates this GPU, so stint does not know its holder. */
  engineAllocated: z.boolean(),
  jobId: z.number().int().nullable(),
  jobName: z.string().nullable(),
  owner: z.string().nullable(),
});
export type GpuView = z.infer<typeof GpuViewSchema>;
/** How a node confines jobs (local backend); absent where the engine does (Slurm). */
export const NodeConfinementSchema = z.object({
  backend: z.string(),
  node: z.string(),
  enforced: z.boolean(),
  /** Why limits are not enforced ("the server is not root, ..."); absent when they are. */
  reason: z.string().optional(),
  cgroup: z.enum(['v1', 'v2']).nullable(),
  privateTmp: z.boolean(),
  notes: z.array(z.string()).optional(),
});
export type NodeConfinementView = z.infer<typeof NodeConfinementSchema>;
/** Whose Unix account a backend's jobs run as: each owner's own, or one shared account (and why). */
export const BackendIdentitySchema = z.object({ backend: z.string(), perUser: z.boolean(), why: z.string().optional() });
export type BackendIdentityView = z.infer<typeof BackendIdentitySchema>;
export const GpuListSchema = z.object({
  gpus: z.array(GpuViewSchema),
  confinement: z.array(NodeConfinementSchema).default([]),
  identities: z.array(BackendIdentitySchema).default([]),
});

export const ServerInfoSchema = z.object({ version: z.string(), backends: z.array(z.object({ name: z.string(), kind: z.string() })) });

export const UsageQuerySchema = z.object({
  by: z.enum(['user', 'project']).optional().describe('group by user (default) or project'),
  since: z.string().optional().describe('how far back: a duration such as 30d, 12h, 90m (default 30d), or an ISO date'),
});

export const UsageReportSchema = z.object({
  by: z.enum(['user', 'project']),
  since: z.string(),
  until: z.string(),
  rows: z.array(
    z.object({
      name: z.string(),
      gpuHours: z.number(),
      jobs: z.number().int(),
      attempts: z.number().int(),
      avgWaitSeconds: z.number().nullable(),
      maxWaitSeconds: z.number().nullable(),
      idleGpuHours: z.number().optional().describe('GPU-hours observed below the idle threshold (GPU telemetry; jobs sampled in the period)'),
    }),
  ),
});
export type UsageReport = z.infer<typeof UsageReportSchema>;

export const UsageSeriesQuerySchema = UsageQuerySchema.extend({
  buckets: z.coerce.number().int().min(1).max(200).optional().describe('how many equal time buckets (default 30)'),
});

export const UsageSeriesSchema = z.object({
  by: z.enum(['user', 'project']),
  since: z.string(),
  until: z.string(),
  bucketSeconds: z.number(),
  starts: z.array(z.string()).describe('the start of each bucket'),
  series: z.array(z.object({ name: z.string(), gpuHours: z.array(z.number()).describe('GPU-hours used within each bucket') })),
});
export type UsageSeries = z.infer<typeof UsageSeriesSchema>;
