// The configuration of one Slurm backend, validated once at start. A bad value fails with the
// field's path named (`backends[1].ssh.port: ...`). Invariants after parsing: names that end up in
// `#SBATCH` lines (partition, account, qos) are plain Slurm words, and `workdir` is an absolute
// path made only of characters stint writes into scripts without quoting.

import { z } from 'zod';
import { StintError } from '../../core/errors.js';

const word = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be a Slurm name: letters, digits, . _ -');

export const SlurmConfigSchema = z.object({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$/, 'must be letters, digits, _ or - (it appears in infra: slurm/<name>)'),
  type: z.literal('slurm').optional(),
  /** Default partition; `infra: slurm/<name>/<partition>` or a project's partition overrides it. */
  partition: word.optional(),
  /** A folder on the cluster's shared filesystem, seen at the same path by the server (or login node) and every compute node. */
  workdir: z.string().regex(/^\/[A-Za-z0-9._/+-]*$/, 'must be an absolute path of letters, digits and . _ / + -'),
  ssh: z.object({
    host: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9.-]*$/, 'must be a host name or address'),
    user: z.string().regex(/^[a-z_][a-z0-9_.-]*$/i, 'must be a user name').optional(),
    port: z.number().int().min(1).max(65535).optional(),
    key: z.string().min(1).optional(),
    /** Extra ssh -o options, e.g. UserKnownHostsFile=/path. */
    options: z.array(z.string().regex(/^[A-Za-z]+=\S+$/, 'must be Option=value')).optional(),
  }).strict().optional(),
  /**
   * Over SSH: `service` submits every job as the SSH account; `sudo` (a root server) submits each
   * job as its owner's account on the login node with `sudo -n -u <user>`, which that account must
   * be allowed without a password (sudoers: `<ssh user> ALL=(<users>) NOPASSWD: ALL`).
   */
  submitAs: z.enum(['service', 'sudo']).default('service'),
  account: word.optional(),
  qos: word.optional(),
  /** Per stint project: the Slurm account, QOS and partition its jobs are submitted with. */
  projects: z.record(z.string(), z.object({ account: word.optional(), qos: word.optional(), partition: word.optional() }).strict()).optional(),
  /** Seconds before a Slurm command is given up. */
  commandTimeoutSeconds: z.number().positive().max(600).default(30),
  /** Where finished jobs are read once squeue has forgotten them: `sacct` (slurmdbd) or `jobcomp` (`sacct -c`, JobCompType=jobcomp/filetxt). */
  finishedJobs: z.enum(['sacct', 'jobcomp']).default('sacct'),
  /** How live jobs are listed each poll: `scontrol` (`scontrol show job -o`, the cheapest) or `squeue-json` (`squeue --json`). */
  listing: z.enum(['scontrol', 'squeue-json']).default('scontrol'),
  /** Seconds of SIGTERM warning before the time limit (`--signal=TERM@N`). */
  warnSeconds: z.number().int().min(0).max(65535).default(60),
  /**
   * How `image_id` runs: `auto` detects pyxis (srun --container-image), then Slurm's native OCI
   * support (an oci.conf beside slurm.conf: `--container=<bundle>`), then apptainer on the submit
   * host; the others force one (`none`: image_id refused).
   */
  containers: z.enum(['auto', 'pyxis', 'oci', 'apptainer', 'none']).default('auto'),
  /** SLURM_CONF for the commands (a cluster whose config is not in /etc/slurm); wins over the server's own SLURM_CONF. */
  slurmConf: z.string().regex(/^\/\S*$/, 'must be an absolute path').optional(),
}).strict();

export type SlurmConfig = z.output<typeof SlurmConfigSchema>;
export type SlurmConfigInput = z.input<typeof SlurmConfigSchema>;

/** Validates one backend entry; `where` prefixes field paths (e.g. `backends[1]`). */
export function parseSlurmConfig(raw: unknown, where = 'slurm'): SlurmConfig {
  const result = SlurmConfigSchema.safeParse(raw);
  if (result.success) return Object.freeze(result.data);
  const issues = result.error.issues.map((issue) => {
    const field = [where, ...issue.path.map(String)].join('.').replace(/\.(\d+)(?=\.|$)/g, '[$1]');
    return { field, message: issue.message };
  });
  throw new StintError('INVALID_REQUEST', `invalid Slurm backend configuration: ${issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`, { issues });
}
