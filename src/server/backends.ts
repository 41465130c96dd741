// Which backends the server runs, built from `--config FILE` or, without one, a single local
// backend named `local` (with `--gpus` fake GPUs if given). The order is the file's: a task
// without `infra` goes to the first backend that can ever run it. A backend type's code (and any
// SDK it needs) is loaded only when the file declares one of that type.
// Always: a backend that fails to start closes the ones already started before the error is
// raised, and the error names the backend. A local backend runs `image_id` tasks through podman
// when podman is found (detected at start; `containers: false` in its section turns that off,
// `container_runtime` or the server's --container-runtime picks the OCI runtime); otherwise it
// refuses them with podman's reason. The image service and the engines share one Podman per runtime.

import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import type { Backend } from '../backends/backend.js';
import { createLocalBackend, type LocalBackendOptions } from '../backends/local/backend.js';
import { createPodmanEngine } from '../backends/local/container/engine.js';
import { Podman } from '../containers/podman.js';
import type { ServerConfig } from '../config.js';
import type { ImageResolver } from '../containers/images.js';
import { StintError } from '../core/errors.js';
import { localBackendType, readConfigFile, type BackendSection, type BackendType } from './config-file.js';
import { slurmBackendType, createSlurmFromSection } from './slurm-wiring.js';

const TYPES: Readonly<Record<string, BackendType>> = { local: localBackendType, slurm: slurmBackendType };

/** What local backends share with the image service: one podman per runtime, and the owner-aware image resolver. */
export interface ContainerWiring {
  /** The podman of this OCI runtime (undefined: the server's `--container-runtime` or detected), detected once. */
  podman: (runtime?: string) => Promise<Podman | { unavailable: string }>;
  /** ImageService.resolveImage: `docker:`/`stint:` for the job's owner. */
  resolveImage?: ImageResolver;
}

/**
 * One Podman per runtime, detected on first use and then shared, so the image service and the
 * container engine run the same podman (each detect rewrites <home>/containers/containers.conf).
 * podman gets only the account's HOME (from the password database) and, for a non-root server,
 * its XDG_RUNTIME_DIR when that exists.
 */
export function podmanFor(config: Pick<ServerConfig, 'home' | 'containerRuntime'>): ContainerWiring['podman'] {
  const detected = new Map<string, Promise<Podman | { unavailable: string }>>();
  return (runtime = config.containerRuntime) => {
    const key = runtime ?? '';
    let found = detected.get(key);
    if (!found) {
      const uid = process.getuid?.() ?? 0;
      const runtimeDir = `/run/user/${uid}`;
      const env = { HOME: userInfo().homedir, ...(uid !== 0 && existsSync(runtimeDir) && { XDG_RUNTIME_DIR: runtimeDir }) };
      found = Podman.detect({ home: config.home, env, runtime });
      detected.set(key, found);
    }
    return found;
  };
}

export async function createBackends(config: Readonly<ServerConfig>, wiring: ContainerWiring = { podman: podmanFor(config) }): Promise<Backend[]> {
  if (config.configFile === undefined) return [await createLocalWithContainers({ ...config.sandbox, name: 'local', home: config.home, jobsDir: config.jobsDir, fakeGpus: config.fakeGpus }, { podman: wiring.podman, resolveImage: wiring.resolveImage, maxImageBytes: config.maxImageBytes })];
  const file = readConfigFile(config.configFile, TYPES);
  const backends: Backend[] = [];
  try {
    for (const section of file.backends) backends.push(await create(section, config, wiring));
  } catch (error) {
    await Promise.allSettled(backends.map((b) => b.close()));
    throw error;
  }
  return backends;
}

async function create(section: BackendSection, config: Readonly<ServerConfig>, wiring: ContainerWiring): Promise<Backend> {
  try {
    if (section.type === 'local') {
      const gpus = typeof section.config.gpus === 'string' ? section.config.gpus : config.fakeGpus;
      const runtime = typeof section.config.container_runtime === 'string' ? section.config.container_runtime : undefined;
      return await createLocalWithContainers({ ...config.sandbox, name: section.name, home: config.home, jobsDir: config.jobsDir, fakeGpus: gpus }, { enabled: section.config.containers !== false, podman: () => wiring.podman(runtime), resolveImage: wiring.resolveImage, maxImageBytes: config.maxImageBytes });
    }
    return await createSlurmFromSection(section);
  } catch (error) {
    if (error instanceof StintError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new StintError('INVALID_REQUEST', `backend ${section.name} (${section.type}) could not start: ${message}`, { field: '--config', backend: section.name }, { cause: error });
  }
}

/** A local backend with the podman container engine, whose CDI devices come from the backend's own GPU inventory. */
export async function createLocalWithContainers(options: LocalBackendOptions, containers: { enabled?: boolean; podman?: () => Promise<Podman | { unavailable: string }>; resolveImage?: ImageResolver; maxImageBytes?: number }): Promise<Backend> {
  if (containers.enabled === false) return createLocalBackend(options);
  const podman = await (containers.podman ?? podmanFor({ home: options.home, containerRuntime: undefined }))();
  let backend: Backend | null = null;
  const engine = createPodmanEngine({
    podman, home: options.home, resolveImage: containers.resolveImage, maxImageBytes: containers.maxImageBytes,
    gpus: async () => (backend ? (await backend.inventory()).nodes[0]?.gpus ?? [] : []),
  });
  backend = await createLocalBackend({ ...options, containers: engine });
  return backend;
}
