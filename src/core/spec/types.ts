// The normalised task spec: what a task file means once parsed, independent of YAML. Parsing
// (parse.ts) produces it; admission (admission.ts) decides whether configured backends can honour
// it. Every field a file used that some backend might not honour is recorded in `features`, with
// where it was written, so a refusal can name the field and its line.

export interface SourcePos {
  line: number;
  col: number;
}

/** A number with an optional "or more" (`4+`). */
export interface Quantity {
  value: number;
  orMore: boolean;
}

/** One accelerator request: a GPU type and a count (fractions allowed by the format). */
export interface AcceleratorRequest {
  name: string;
  count: number;
}

/**
 * One complete alternative of resources. A task has one or more; `ordered` on the spec says whether
 * they are a preference list or an unordered any-of.
 */
export interface ResourceChoice {
  accelerator: AcceleratorRequest | null;
  cpus: Quantity | null;
  memoryGb: Quantity | null;
  diskSizeGb: number | null;
  useSpot: boolean;
  /** `cloud[/region[/zone]]` or `slurm/cluster[/partition]` etc, as written; null = anywhere. */
  infra: string | null;
  imageId: string | null;
  ports: string[];
  /**
   * Where this choice's values were written (field path and position), so that a refusal of this
   * choice names the right line. Optional: specs built outside the parser may leave it out.
   */
  origins?: Partial<Record<'accelerator' | 'cpus' | 'memoryGb' | 'infra', { field: string; pos: SourcePos }>>;
}

export type MountMode = 'copy' | 'local' | 'bucket';

export interface FileMount {
  target: string;
  /** A local path, a bucket URL, or null for a storage object described by `store`/`name`. */
  source: string | null;
  mode: MountMode;
  pos: SourcePos;
}

export interface RetryPolicy {
  max: number;
  on: Array<'preemption' | 'node_failure' | 'failure'>;
  exitCodes: number[];
  /** First wait before a retry after a node failure or a failure, doubled each attempt (absent: the default, src/core/retry.ts). */
  backoffSeconds?: number;
}

/** Things a task may ask for that a backend may refuse; each backend lists those it cannot do. */
export type Feature =
  | 'multi_node'
  | 'spot'
  | 'image'
  | 'cloud_infra'
  | 'bucket_mount'
  | 'local_file_mount'
  | 'volume'
  | 'ports'
  | 'disk_size'
  | 'fractional_gpu'
  | 'job_recovery'
  | 'service'
  | 'pipeline'
  | 'other';

export interface FeatureUse {
  feature: Feature;
  /** The field path as written, e.g. `resources.use_spot` or `file_mounts./data`. */
  field: string;
  pos: SourcePos;
  /** A short description of the value, e.g. `true`, `docker:pytorch/pytorch`. */
  detail: string;
  /**
   * Indices into `TaskSpec.resources` of the choices this use belongs to (a resources field such as
   * `use_spot` inside one `any_of` entry). Absent: it concerns the whole task, whatever the choice.
   */
  choices?: number[];
}

export interface TaskSpec {
  name: string | null;
  workdir: string | null;
  numNodes: number;
  resources: ResourceChoice[];
  /** true: `resources` is a preference order; false: any of them will do. */
  ordered: boolean;
  envs: Record<string, string>;
  /** Secret values; never printed, logged or returned by the API. */
  secrets: Record<string, string>;
  fileMounts: FileMount[];
  volumes: Record<string, string>;
  setup: string | null;
  run: string | null;
  /** stint's own keys. */
  priority: number;
  maxRuntimeSeconds: number | null;
  retries: RetryPolicy;
  preemptible: boolean;
  project: string | null;
  /** stint's `interactive: true`: a session a person works in (idle-GPU policies watch these by default). */
  interactive?: boolean;
  /** stint's `export_env: true`: the submitter's environment is carried into the job (core/spec/exported-env.ts). */
  exportEnv?: boolean;
  /**
   * Set by the server on an accepted job: how many variables of the submitter's environment it
   * carries (their values are stored sealed with the job, never in the spec).
   */
  exportedEnvCount?: number;
  features: FeatureUse[];
}

/** A parsed task file: one task, or a pipeline of several (multi-document YAML). */
export interface TaskFile {
  name: string | null;
  tasks: TaskSpec[];
}

export const DEFAULT_PRIORITY = 0;
export const MIN_PRIORITY = -1000;
export const MAX_PRIORITY = 1000;
