// Containers on Slurm: which mechanism a cluster offers (pyxis, Slurm's own OCI support through
// oci.conf, apptainer) and how a task's `image_id` becomes the srun options, or the command
// prefix, that start the per-node wrapper (node.sh) inside the container. Pure: detection parses
// the output of one probe command that the backend runs; nothing here runs anything.
// Invariants: only the step (srun) runs in the container, the batch script stays on the node, so
// Slurm's own commands (scontrol, srun) are never needed inside an image; every word that reaches
// the srun line matches a conservative pattern (no quoting needed, no option can be smuggled);
// every refusal names `resources.image_id`, the value, and what this cluster accepts.

import { StintError } from '../../core/errors.js';
import { parseImageId, validateDockerRef } from '../../containers/image-names.js';

export type ContainerMode = 'pyxis' | 'oci' | 'apptainer' | 'none';

/** What the backend found on the cluster, and the reason when it found nothing. */
export interface ContainerSupport {
  mode: ContainerMode;
  /** How the mode was chosen (detected, or set by the `containers` key). */
  how: string;
  /** apptainer (or singularity) as found on the submit host; `apptainer` when not probed. */
  apptainer: string;
}

/** How a step runs in a container: options for srun, then a prefix before `bash node.sh`. */
export interface ContainerLaunch {
  srunOptions: string[];
  prefix: string[];
}

const MARK = '::stint-probe::';

/**
 * One shell command for the submit host: `srun --help` (pyxis adds --container-image), whether an
 * oci.conf lies beside the slurm.conf scontrol reports, and where apptainer (or singularity) is.
 */
export const PROBE_SCRIPT = [
  'srun --help 2>&1 | grep -e "--container" || true',
  `echo ${MARK}`,
  'c=$(scontrol show config 2>/dev/null | sed -n "s/^SLURM_CONF *= *//p")',
  '[ -n "$c" ] && [ -f "$(dirname "$c")/oci.conf" ] && echo "$(dirname "$c")/oci.conf"',
  `echo ${MARK}`,
  'command -v apptainer || command -v singularity || true',
].join('\n');

/** The mode a probe's output shows, in the order pyxis, native OCI, apptainer; `configured` wins. */
export function detectContainers(probeOutput: string | null, configured: ContainerMode | 'auto'): ContainerSupport {
  const [help = '', oci = '', apptainer = ''] = (probeOutput ?? '').split(MARK).map((s) => s.trim());
  const tool = /^\/[A-Za-z0-9._/+-]*$/.test(apptainer.split('\n')[0] ?? '') ? apptainer.split('\n')[0]! : 'apptainer';
  if (configured !== 'auto') return { mode: configured, how: `set by the backend's containers: ${configured}`, apptainer: tool };
  if (probeOutput === null) return { mode: 'none', how: 'the container probe of the cluster failed', apptainer: tool };
  if (/--container-image\b/.test(help)) return { mode: 'pyxis', how: 'srun --help lists --container-image (pyxis)', apptainer: tool };
  if (oci !== '') return { mode: 'oci', how: `${oci.split('\n')[0]} exists (Slurm's native OCI support)`, apptainer: tool };
  if (tool !== 'apptainer' || apptainer !== '') return { mode: 'apptainer', how: `${tool} is installed on the submit host`, apptainer: tool };
  return {
    mode: 'none', apptainer: tool,
    how: 'srun has no --container-image (no pyxis), no oci.conf lies beside slurm.conf, and neither apptainer nor singularity is on the submit host',
  };
}

/** The `unsupported.image` reason for a cluster without containers; null when it has some. */
export function imageRefusal(support: ContainerSupport, backend: string): string | null {
  if (support.mode !== 'none') return null;
  return `backend ${backend} runs no containers: ${support.how}; an admin can set containers: pyxis|oci|apptainer in its configuration`;
}

const SAFE_PATH = /^\/[A-Za-z0-9._/+-]*$/;

function refuse(imageId: string, why: string, accepted: string): never {
  const shown = imageId.length > 80 ? `${imageId.slice(0, 77)}...` : imageId;
  throw new StintError('UNSUPPORTED_FEATURE', `resources.image_id: ${JSON.stringify(shown)} ${why}; give ${accepted}`, {
    field: 'resources.image_id', value: shown, accepted,
  });
}

/** enroot's spelling of a registry reference: `nvcr.io/nvidia/pytorch:23.10` -> `nvcr.io#nvidia/pytorch:23.10`. */
export function enrootRef(ref: string): string {
  const slash = ref.indexOf('/');
  if (slash < 0) return ref;
  const first = ref.slice(0, slash);
  const isRegistry = first.includes('.') || first.includes(':') || first === 'localhost';
  return isRegistry ? `${first}#${ref.slice(slash + 1)}` : ref;
}

/** An absolute path with a given ending, written without quoting (or null). */
function imageFile(imageId: string, ending: RegExp): string | null {
  return SAFE_PATH.test(imageId) && ending.test(imageId) && !imageId.includes('/../') ? imageId : null;
}

/**
 * How `imageId` runs on a cluster of `support.mode`, with the job's folder mounted at its own path
 * (`jobDir`, on the shared filesystem). Refused, naming what this cluster takes, when it cannot.
 */
export function containerLaunch(imageId: string, support: ContainerSupport, jobDir: string, gpus: number): ContainerLaunch {
  const mount = `${jobDir}:${jobDir}`;
  switch (support.mode) {
    case 'pyxis': {
      const accepted = 'docker:<ref> (pulled by enroot) or the path of a squashfs image (/shared/images/x.sqsh)';
      const file = imageFile(imageId, /\.sqsh$/);
      if (file) return { srunOptions: [`--container-image=${file}`, `--container-mounts=${mount}`], prefix: [] };
      if (!imageId.startsWith('docker:')) refuse(imageId, 'cannot run here: this cluster runs containers with pyxis (enroot)', accepted);
      const ref = enrootRef(validateDockerRef(imageId.slice('docker:'.length)));
      return { srunOptions: [`--container-image=${ref}`, `--container-mounts=${mount}`], prefix: [] };
    }
    case 'oci': {
      const accepted = 'oci:/shared/bundles/<name> (an OCI runtime bundle: config.json + rootfs on the shared filesystem, mounting the stint workdir at its own path)';
      if (!imageId.startsWith('oci:')) refuse(imageId, 'cannot run here: this cluster runs OCI bundles (Slurm --container with oci.conf), not registry images', accepted);
      const dir = imageId.slice('oci:'.length);
      if (!SAFE_PATH.test(dir) || dir.includes('/../')) refuse(imageId, 'is not an absolute bundle path of letters, digits and . _ / + -', accepted);
      return { srunOptions: [`--container=${dir.replace(/\/+$/, '') || '/'}`], prefix: [] };
    }
    case 'apptainer': {
      const accepted = 'docker:<ref> (pulled by apptainer) or the path of a SIF image (/shared/images/x.sif)';
      const file = imageFile(imageId, /\.sif$/);
      let image: string;
      if (file) image = file;
      else if (imageId.startsWith('docker:')) image = `docker://${validateDockerRef(imageId.slice('docker:'.length))}`;
      else refuse(imageId, 'cannot run here: this cluster runs containers with apptainer', accepted);
      const gpuFlag = gpus > 0 ? ['--nv'] : [];
      return { srunOptions: [], prefix: [support.apptainer, 'exec', ...gpuFlag, '--bind', mount, image] };
    }
    case 'none':
      parseImageId(imageId);
      return refuse(imageId, `cannot run: ${support.how}`, 'no image_id on this backend (or ask an admin to set containers: in its configuration)');
  }
}
