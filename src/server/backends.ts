// Which backends the server runs, built from `--config FILE` or, without one, a single local
// backend named `local` (with `--gpus` fake GPUs if given). The order is the file's: a task
// without `infra` goes to the first backend that can ever run it. A backend type's code (and any
// SDK it needs) is loaded only when the file declares one of that type.
// Always: a backend that fails to start closes the ones already started before the error is
// raised, and the error names the backend.

import type { Backend } from '../backends/backend.js';
import { createLocalBackend } from '../backends/local/backend.js';
import type { ServerConfig } from '../config.js';
import { StintError } from '../core/errors.js';
import { localBackendType, readConfigFile, type BackendSection, type BackendType } from './config-file.js';
import { slurmBackendType, createSlurmFromSection } from './slurm-wiring.js';

const TYPES: Readonly<Record<string, BackendType>> = { local: localBackendType, slurm: slurmBackendType };

export async function createBackends(config: Readonly<ServerConfig>): Promise<Backend[]> {
  if (config.configFile === undefined) return [await createLocalBackend({ name: 'local', home: config.home, jobsDir: config.jobsDir, fakeGpus: config.fakeGpus })];
  const file = readConfigFile(config.configFile, TYPES);
  const backends: Backend[] = [];
  try {
    for (const section of file.backends) backends.push(await create(section, config));
  } catch (error) {
    await Promise.allSettled(backends.map((b) => b.close()));
    throw error;
  }
  return backends;
}

async function create(section: BackendSection, config: Readonly<ServerConfig>): Promise<Backend> {
  try {
    if (section.type === 'local') {
      const gpus = typeof section.config.gpus === 'string' ? section.config.gpus : config.fakeGpus;
      return await createLocalBackend({ name: section.name, home: config.home, jobsDir: config.jobsDir, fakeGpus: gpus });
    }
    return await createSlurmFromSection(section);
  } catch (error) {
    if (error instanceof StintError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new StintError('INVALID_REQUEST', `backend ${section.name} (${section.type}) could not start: ${message}`, { field: '--config', backend: section.name }, { cause: error });
  }
}
