// Every key a task file may use, per level, and the "did you mean" suggestion for the others.
// SkyPilot's keys (from its task-YAML reference and schema) are all accepted; those only clouds can
// honour are recorded as features by the readers. stint's own scheduling keys live beside them or
// under a top-level `stint:` map. Anything in none of these lists is an error.

/** SkyPilot's top-level task keys. */
export const SKYPILOT_TASK_KEYS = [
  'name',
  'workdir',
  'num_nodes',
  'resources',
  'envs',
  'secrets',
  'managed_secrets',
  'file_mounts',
  'file_mounts_mapping',
  'volumes',
  'volume_mounts',
  'setup',
  'run',
  'config',
  'service',
  'pool',
  'job_recovery',
  'event_callback',
  'experimental',
  'labels',
  'inputs',
  'outputs',
  'api_server_access',
  '_metadata',
] as const;

/** stint's own scheduling keys, accepted at the top level or under `stint:`. */
export const STINT_KEYS = ['priority', 'max_runtime', 'retries', 'preemptible', 'project', 'interactive', 'export_env'] as const;

export const TASK_KEYS: readonly string[] = [...SKYPILOT_TASK_KEYS, ...STINT_KEYS, 'stint'];

/** Keys of a pipeline's first document (its header) when it describes the pipeline, not a task. */
export const PIPELINE_HEADER_KEYS = ['name', 'execution', 'primary_tasks', 'termination_delay'] as const;

/** Keys of one resources alternative (the base map, or one `any_of` / `ordered` entry). */
export const RESOURCE_KEYS = [
  'infra',
  'cloud',
  'region',
  'zone',
  'accelerators',
  'gpus',
  'accelerator_args',
  'cpus',
  'memory',
  'instance_type',
  'use_spot',
  'job_recovery',
  'spot_recovery',
  'disk_size',
  'ephemeral_storage',
  'disk_tier',
  'network_tier',
  'local_disk',
  'max_hourly_cost',
  'ports',
  'labels',
  'image_id',
  'autostop',
  'volumes',
  'priority',
  'priority_class',
  '_no_missing_accel_warnings',
] as const;

/** The base `resources:` map also takes the lists of alternatives. */
export const BASE_RESOURCE_KEYS: readonly string[] = [...RESOURCE_KEYS, 'any_of', 'ordered'];

/** Keys of a storage object under `file_mounts`. */
export const STORAGE_KEYS = [
  'name',
  'source',
  'store',
  'persistent',
  'mode',
  'mount_options',
  'type',
  'config',
  '_is_sky_managed',
  '_bucket_sub_path',
  '_force_delete',
] as const;

export const RETRY_KEYS = ['max', 'on', 'exit_codes', 'backoff'] as const;

/** Levenshtein distance, for suggestions only. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** Keys longer than this get no suggestion: none is that long, and the distance costs length². */
const MAX_SUGGESTED_KEY_LENGTH = 64;

/** The allowed key nearest to `key`, when it is close enough to be a likely typo. */
export function suggestKey(key: string, allowed: readonly string[]): string | null {
  if (key.length > MAX_SUGGESTED_KEY_LENGTH) return null;
  const lower = key.toLowerCase();
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const candidate of allowed) {
    if (candidate.startsWith('_')) continue;
    const distance = editDistance(lower, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  const limit = Math.max(2, Math.floor(key.length / 3));
  return bestDistance <= limit ? best : null;
}
