// Builds what the image routes and the submit-time check need from the server's configuration:
// the image service over the store's images, podman detected on first use (a server that never
// touches images never runs podman), the directory uploads are streamed to, and the preparer
// the scheduling pass calls for the jobs at the head of the queue. Must hold: the
// upload directory is inside the server's home (0700, made by the route), never a shared /tmp.

import { join } from 'node:path';
import type { Clock } from '../core/clock.js';
import type { Store } from '../store/types.js';
import { ImageService } from './images.js';
import { Podman } from './podman.js';
import { ImagePreparer, type PreparedJob } from './image-prepare.js';

export interface ImageSetupOptions {
  home: string;
  store: Store;
  clock: Clock;
  maxBytes: number;
  logger: { warn(obj: object, msg?: string): void };
  /** Default: Podman.detect with stint's home (the same podman the container engine uses). */
  podman?: () => Promise<Podman | { unavailable: string }>;
}

export interface ImageSetup {
  service: ImageService;
  uploadDir: string;
  maxBytes: number;
  /** The scheduler's head-of-queue hook: pulls the `docker:` images of the first waiting jobs. */
  prepare: (jobs: readonly PreparedJob[]) => void;
}

export function setUpImages(options: ImageSetupOptions): ImageSetup {
  const uploadDir = join(options.home, 'image-uploads');
  const service = new ImageService({
    store: options.store.images,
    podman: options.podman ?? (() => Podman.detect({ home: options.home })),
    clock: options.clock,
    isAdmin: async (id) => (await options.store.users.getUserById(id))?.role === 'admin',
    tempDir: uploadDir,
    maxBytes: options.maxBytes,
  });
  const preparer = new ImagePreparer({ images: service, clock: options.clock, logger: options.logger });
  return { service, uploadDir, maxBytes: options.maxBytes, prepare: (jobs) => preparer.prepare(jobs) };
}
