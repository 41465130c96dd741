// The backend contract: the behaviour every backend must show against its real engine (real
// processes for local, real Slurm daemons for slurm). Each backend's test file calls
// `backendContract` with a factory; nothing here knows which backend it runs.

import { describe, expect, it } from 'vitest';
import type { TaskSpec } from '../core/spec/types.js';
import { type AttemptRef, type AttemptStatus, type Backend, type LaunchRequest, attemptKey } from './backend.js';

export interface BackendFactory {
  /** A fresh backend with at least `gpus` GPUs (fake ones are fine). */
  create(): Promise<Backend>;
  /** How long the engine may take to report an end (poll granularity). */
  timeoutMs: number;
  /** Every spec of the suite runs in this image (`resources.image_id`), e.g. a container variant of a backend. */
  imageId?: string;
}

let nextJobId = 1000;

export function taskSpec(run: string, overrides: Partial<TaskSpec> = {}): TaskSpec {
  return {
    name: 'contract', workdir: null, numNodes: 1, ordered: false,
    resources: [{ accelerator: null, cpus: null, memoryGb: null, diskSizeGb: null, useSpot: false, infra: null, imageId: null, ports: [] }],
    envs: {}, secrets: {}, fileMounts: [], volumes: {}, setup: null, run,
    priority: 0, maxRuntimeSeconds: null, retries: { max: 0, on: [], exitCodes: [] }, preemptible: true, project: null, features: [],
    ...overrides,
  };
}

export async function launchOn(backend: Backend, spec: TaskSpec, gpus: number[] = [], secrets: Record<string, string> = {}): Promise<AttemptRef> {
  const inventory = await backend.inventory();
  const request: LaunchRequest = {
    jobId: nextJobId++, attempt: 1, name: spec.name, spec, secrets,
    node: backend.stintPlaces ? inventory.nodes[0]!.name : null,
    // An engine that places work (Slurm) chooses GPUs itself from the spec's accelerators.
    gpus: backend.stintPlaces ? gpus : [], workdirArchive: null, env: {},
  };
  const launched = await backend.launch(request);
  return { jobId: request.jobId, attempt: 1, handle: launched.handle };
}

export async function waitForEnd(backend: Backend, ref: AttemptRef, timeoutMs: number): Promise<Extract<AttemptStatus, { state: 'ended' }>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = (await backend.poll([ref])).get(attemptKey(ref));
    if (status?.state === 'ended') return status;
    if (Date.now() > deadline) throw new Error(`attempt ${attemptKey(ref)} did not end within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits until the attempt's log contains `text` (the job has started and reached that point). */
export async function waitForLog(backend: Backend, ref: AttemptRef, text: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const log = (await backend.readLog(ref, 0, 1 << 20)).text;
    if (log.includes(text)) return log;
    if (Date.now() > deadline) throw new Error(`attempt ${attemptKey(ref)} did not log ${JSON.stringify(text)} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function fullLog(backend: Backend, ref: AttemptRef): Promise<string> {
  return (await backend.readLog(ref, 0, 1 << 20)).text;
}

export function backendContract(name: string, factory: BackendFactory): void {
  const start = (backend: Backend, spec: TaskSpec, gpus?: number[], secrets?: Record<string, string>) =>
    launchOn(backend, factory.imageId === undefined ? spec : { ...spec, resources: spec.resources.map((r) => ({ ...r, imageId: factory.imageId! })) }, gpus, secrets);
  describe(`backend contract: ${name}`, () => {
    it('runs setup then run and reports the exit code', async () => {
      const backend = await factory.create();
      const ref = await start(backend, taskSpec('echo run-here; exit 7', { setup: 'echo setup-here' }));
      const end = await waitForEnd(backend, ref, factory.timeoutMs);
      expect(end).toMatchObject({ exitCode: 7, reason: 'exit' });
      expect(await fullLog(backend, ref)).toMatch(/setup-here\n[^]*run-here/);
    });

    it('fails the attempt when setup fails, without running run', async () => {
      const backend = await factory.create();
      const ref = await start(backend, taskSpec('echo should-not-run', { setup: 'exit 4' }));
      expect((await waitForEnd(backend, ref, factory.timeoutMs)).exitCode).toBe(4);
      expect(await fullLog(backend, ref)).not.toContain('should-not-run');
    });

    it("gives the job stint's and SkyPilot's environment, its envs and secrets", async () => {
      const backend = await factory.create();
      const gpu = (await backend.inventory()).nodes[0]!.gpus[0];
      const gpus = gpu ? [0] : [];
      const run = 'echo "id=$STINT_JOB_ID rank=$STINT_NODE_RANK nodes=$SKYPILOT_NUM_NODES gpn=$STINT_NUM_GPUS_PER_NODE task=$SKYPILOT_TASK_ID cuda=$CUDA_VISIBLE_DEVICES e=$MY_ENV s=$MY_SECRET"';
      const spec = taskSpec(run, { envs: { MY_ENV: 'hello world' } });
      // An engine that places work gets the GPU request from the spec, and picks which GPU itself.
      if (!backend.stintPlaces && gpu) spec.resources = [{ ...spec.resources[0]!, accelerator: { name: gpu.name, count: 1 } }];
      const ref = await start(backend, spec, gpus, { MY_SECRET: 's3cret' });
      expect((await waitForEnd(backend, ref, factory.timeoutMs)).exitCode).toBe(0);
      const log = await fullLog(backend, ref);
      expect(log).toContain(`id=${ref.jobId} rank=0 nodes=1 gpn=${gpus.length} task=stint-job-${ref.jobId}`);
      if (backend.stintPlaces) expect(log).toContain(`cuda=${gpus.join(',')} e=hello world s=s3cret`);
      else expect(log).toMatch(gpu ? /cuda=\d+ e=hello world s=s3cret/ : /cuda= e=hello world s=s3cret/);
    });

    it('keeps its exit status when the task sets its own EXIT trap', async () => {
      const backend = await factory.create();
      const ref = await start(backend, taskSpec("trap 'echo cleaning up' EXIT; echo working; exit 6"));
      expect((await waitForEnd(backend, ref, factory.timeoutMs)).exitCode).toBe(6);
      expect(await fullLog(backend, ref)).toBe('working\ncleaning up\n');
    });

    it('runs background work and waits like a normal bash script', async () => {
      const backend = await factory.create();
      const ref = await start(backend, taskSpec('(sleep 0.2; echo child) & wait; echo parent; false'));
      expect((await waitForEnd(backend, ref, factory.timeoutMs)).exitCode).toBe(1);
      expect(await fullLog(backend, ref)).toBe('child\nparent\n');
    });

    it('reports many attempts in one poll, each with its own outcome', async () => {
      const backend = await factory.create();
      const refs = await Promise.all([0, 1, 2].map((code) => start(backend, taskSpec(`exit ${code}`))));
      for (const ref of refs) await waitForEnd(backend, ref, factory.timeoutMs);
      const statuses = await backend.poll(refs);
      expect(refs.map((r) => statuses.get(attemptKey(r)))).toMatchObject([{ exitCode: 0 }, { exitCode: 1 }, { exitCode: 2 }]);
    });

    it('stops every process of an attempt on SIGTERM, and on SIGKILL when TERM is ignored', async () => {
      const backend = await factory.create();
      const polite = await start(backend, taskSpec('echo started; sleep 60 & sleep 60; wait'));
      const stubborn = await start(backend, taskSpec("trap '' TERM; echo ready; while true; do sleep 0.1; done"));
      // An engine that places work may hold the jobs queued first: wait until both have started.
      await waitForLog(backend, polite, 'started', factory.timeoutMs);
      await waitForLog(backend, stubborn, 'ready', factory.timeoutMs);
      await new Promise((r) => setTimeout(r, 300));
      expect((await backend.poll([polite])).get(attemptKey(polite))).toMatchObject({ state: 'running' });
      await backend.signal(polite, 'SIGTERM');
      expect((await waitForEnd(backend, polite, factory.timeoutMs)).signal).toBe('SIGTERM');
      await backend.signal(stubborn, 'SIGTERM');
      await new Promise((r) => setTimeout(r, 300));
      expect((await backend.poll([stubborn])).get(attemptKey(stubborn))).toMatchObject({ state: 'running' });
      await backend.signal(stubborn, 'SIGKILL');
      // Nothing can record a SIGKILL from inside the job: a backend reports the signal or a lost status.
      const killed = await waitForEnd(backend, stubborn, factory.timeoutMs);
      expect(killed.signal === 'SIGKILL' || killed.reason === 'lost').toBe(true);
    });

    it('serves the log by byte ranges while the job runs', async () => {
      const backend = await factory.create();
      const ref = await start(backend, taskSpec('echo first; sleep 0.5; echo second'));
      await waitForLog(backend, ref, 'first', factory.timeoutMs);
      const early = await backend.readLog(ref, 0, 1 << 20);
      expect(early.text).toBe('first\n');
      await waitForEnd(backend, ref, factory.timeoutMs);
      const rest = await backend.readLog(ref, early.nextOffset, 1 << 20);
      expect(rest.text).toBe('second\n');
      expect((await backend.readLog(ref, -7, 100)).text).toBe('second\n');
    });

    it('lists its unsupported features with a reason each', async () => {
      const backend = await factory.create();
      for (const reason of Object.values(backend.unsupported)) expect(reason).toMatch(/\w{3,}/);
    });
  });
}
