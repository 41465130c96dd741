// How stint reads an `infra` string (and the older `cloud`/`region`/`zone` keys, folded into one).
// The first segment says where the task wants to run:
//   local | local/<backend>                      the machine stint runs on (the local backend)
//   slurm | slurm/<backend>[/<partition>]        a Slurm cluster configured in stint
//   k8s | kubernetes | k8s/<backend>[/...]       a Kubernetes cluster configured in stint
//   ssh | ssh/<backend>                          a pool of machines reached over SSH
//   anything else (aws, gcp/us-central1, lambda, *, */us-east-1, ...)   a cloud: feature cloud_infra
// The second segment, when given, names the stint backend that must run it; for Kubernetes it is
// the rest of the string (contexts may hold slashes). Matching of the first segment ignores case.

export type InfraKind = 'local' | 'slurm' | 'kubernetes' | 'ssh' | 'cloud';

export interface InfraTarget {
  kind: InfraKind;
  /** The cloud's name for kind 'cloud' (lower case, `*` = any cloud); else null. */
  cloud: string | null;
  /** The stint backend named by the second segment (Kubernetes: the context), or null. */
  name: string | null;
}

const ON_PREMISES: Record<string, InfraKind> = {
  local: 'local',
  slurm: 'slurm',
  k8s: 'kubernetes',
  kubernetes: 'kubernetes',
  ssh: 'ssh',
};

export function classifyInfra(infra: string): InfraTarget {
  const [first = '', ...rest] = infra.split('/');
  const kind = ON_PREMISES[first.toLowerCase()];
  if (!kind) return { kind: 'cloud', cloud: first.toLowerCase(), name: null };
  const name = kind === 'kubernetes' ? rest.join('/') : (rest[0] ?? '');
  return { kind, cloud: null, name: name === '' ? null : name };
}

export function isCloudInfra(infra: string): boolean {
  return classifyInfra(infra).kind === 'cloud';
}

/** A problem with an infra string, or null when it is well formed. */
export function infraProblem(infra: string): string | null {
  const segments = infra.split('/');
  if (segments.some((segment) => segment.trim() === '' || segment !== segment.trim())) {
    return 'has an empty segment or spaces; write e.g. aws, aws/us-east-1, slurm/hpc/gpu, k8s/my-context, local';
  }
  const target = classifyInfra(infra);
  if (target.kind !== 'kubernetes' && segments.length > 3) return 'has more than three segments (kind/name/detail)';
  return null;
}

/** `cloud`, `region`, `zone` written separately → one infra string (`*` where a part is missing). */
export function foldCloudRegionZone(cloud: string | null, region: string | null, zone: string | null): string {
  const parts = [cloud ?? '*'];
  if (region !== null || zone !== null) parts.push(region ?? '*');
  if (zone !== null) parts.push(zone);
  return parts.join('/');
}
