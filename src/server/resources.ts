// What the HTTP layer is given: every dependency, passed in by the composition root (start.ts or a
// test), never imported as a module singleton.

import type { Backend, RunAs } from '../backends/backend.js';
import type { Clock } from '../core/clock.js';
import type { Scheduler, Logger } from '../scheduler/loop.js';
import type { JobTransitions } from '../scheduler/transitions.js';
import type { Store } from '../store/types.js';
import type { ImageRouteDeps } from './routes/images.js';

export interface ServerResources {
  store: Store;
  backends: readonly Backend[];
  clock: Clock;
  transitions: JobTransitions;
  scheduler: Scheduler;
  logger: Logger;
  uploadsDir: string;
  maxUploadBytes: number;
  /** The Unix account an owner's jobs run as (null: the server's user); throws FORBIDDEN when refused. */
  runAs: (owner: string, ownerId?: number | null) => Promise<RunAs | null>;
  /** --shared-account-insecure: admit several job-running users although a backend runs them under one account. */
  sharedAccountInsecure?: boolean;
  /** Container images (`stint image`, src/containers/images.ts); absent: the image routes answer 422. */
  images?: ImageRouteDeps;
}
