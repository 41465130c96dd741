// The submit-time image check: every `image_id` a task names (each resources choice) must be
// runnable on the backend the job was admitted to, before the job is accepted. Must hold: only
// backends where stint itself runs podman (kind `local`) are checked here (Slurm's container
// runtimes find images on their nodes); a refusal names `resources.image_id`, never a late failure.

import type { TaskSpec } from '../core/spec/types.js';
import type { Backend } from '../backends/backend.js';
import type { ImageService } from './images.js';

interface Submitter {
  id: number;
  name: string;
  role: 'admin' | 'member' | 'viewer';
}

/** The `checkImages` dependency of submissions, for these backends and this image service. */
export function imageCheck(res: { backends: readonly Backend[] }, images: ImageService) {
  return async (specs: readonly TaskSpec[], submitter: Submitter, backend: string | null): Promise<void> => {
    const kind = res.backends.find((b) => b.name === backend)?.kind;
    if (kind !== 'local') return;
    const ids = new Set(specs.flatMap((spec) => spec.resources.map((r) => r.imageId)).filter((id): id is string => id !== null));
    for (const id of ids) await images.checkImageId(id, submitter);
  };
}
