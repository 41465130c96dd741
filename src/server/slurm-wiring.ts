// The Slurm backend's place in the configuration file: its section's schema (small, loaded with
// the file) and its creation (the Slurm code is imported only when a file declares a Slurm backend).

import type { Backend } from '../backends/backend.js';
import { SlurmConfigSchema } from '../backends/slurm/config.js';
import type { BackendSection, BackendType } from './config-file.js';

export const slurmBackendType: BackendType = { schema: SlurmConfigSchema.required({ type: true }) };

export async function createSlurmFromSection(section: BackendSection): Promise<Backend> {
  const { createSlurmBackend } = await import('../backends/slurm/backend.js');
  return createSlurmBackend(section.config);
}
