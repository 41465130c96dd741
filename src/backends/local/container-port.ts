// What the local backend needs from a container engine to run an attempt in a container
// (implemented by ./container/, podman). The backend owns the attempt's directory, cgroup and
// process group; the engine turns an image reference into the command line the launcher's root
// part runs in place of the bare job shell, and cleans up after it.
// Must hold: the argv starts with an absolute path, runs `bash --norc --noprofile -c JOB_SHELL`
// inside the container as the attempt's account, passes fds 3, 4 and 5 through unchanged
// (env.sh, setup.sh, run.sh), and exits with the container's own exit status.

export interface ContainerMount {
  host: string;
  container: string;
  readOnly: boolean;
}

/** The stint user a job belongs to: whose `docker:`/`stint:` names the image resolves (images.ts owner rule). */
export interface ImageOwner {
  id: number | null;
  name: string;
}

export interface ContainerRequest {
  /** The task's `image_id` as written: `docker:<ref>`, `oci:<dir>`, `stint:<name>`. */
  imageId: string;
  /** Unique per attempt, stable across server restarts (the container's name derives from it). */
  attemptName: string;
  /** The job's owner in stint (null: unknown, e.g. a test); `docker:`/`stint:` refs resolve for them. */
  owner: ImageOwner | null;
  /** Who runs inside; null: the server's own account. `groups`: supplementary groups from the system database. */
  runAs: { uid: number; gid: number; groups?: number[] } | null;
  /** The attempt's cgroup, relative to each controller's root (e.g. `/stint/ab12/job-4-1`); null when not confined. */
  cgroupParent: string | null;
  /** The GPUs stint's ledger assigned, in order; inside they are renumbered from 0. */
  gpus: number[];
  mounts: ContainerMount[];
  /** Working directory inside the container. */
  workdir: string;
  memoryBytes: number | null;
  cpus: number | null;
  pidsLimit: number | null;
}

export interface ContainerLaunch {
  argv: string[];
  /** Environment the job gets inside (CUDA_VISIBLE_DEVICES renumbered, ...); overrides the host's. */
  env: Record<string, string>;
  /** What ran: recorded on the attempt and shown by `stint job`. */
  image: { ref: string; digest: string };
  /** The container's name, for cleanup. */
  name: string;
}

export interface ContainerEngine {
  /** Why `image_id` cannot run on this host (no podman, ...); null when it can. */
  readonly unavailable: string | null;
  prepareLaunch(request: ContainerRequest): Promise<ContainerLaunch>;
  /** Removes what the attempt left (the container); idempotent, safe after a server restart. */
  cleanup(name: string): Promise<void>;
}
