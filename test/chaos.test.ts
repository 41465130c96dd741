// Chaos: four clients submit 500 jobs while the server is killed with SIGKILL at random moments
// (a seeded schedule) and restarted, and jobs start and end throughout. Every submission carries
// its own Idempotency-Key and is retried with it (submitWithRetry) until a server answers, as
// `stint launch` does, so an answer lost in a kill is asked for again, never assumed refused.
// Afterwards, counted exactly:
//   - every submission was acknowledged, and the jobs stored are exactly the acknowledged ones:
//     stored == acknowledged, lost = 0, duplicated = 0 (a retry after a committed-but-unanswered
//     try returns the first job);
//   - every job ran to its end and shows the exit code its script really returned;
//   - no GPU was ever held by two jobs at once (each job logs when it had which GPU).
// The figures are printed and written to test-output/chaos.json; the README's table is copied
// from such a run into bench/results/chaos-<date>.json. Needs the build (npm test builds first).

import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { StintClient } from '../src/api/client.js';
import { submitWithRetry } from '../src/api/submit-retry.js';
import { isEnded, REPO, serverProcess, sleep, tempHome, type ServerProcess } from './helpers/server.js';

const JOBS = 500;
const KILLS = 8;

let live: ServerProcess | null = null;
afterEach(() => live?.child.kill('SIGKILL'));

/** A small deterministic generator, so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function task(index: number, trace: string): string {
  const gpus = index % 3 === 0 ? 2 : 1;
  const seconds = (0.05 + (index % 5) * 0.05).toFixed(2);
  const log = `echo "$STINT_JOB_ID ${index} $CUDA_VISIBLE_DEVICES $(date +%s%N) start" >> ${trace}`;
  const end = `echo "$STINT_JOB_ID ${index} $CUDA_VISIBLE_DEVICES $(date +%s%N) end" >> ${trace}`;
  return `name: chaos-${index}\nresources: {accelerators: A100:${gpus}}\nrun: |\n  ${log}\n  sleep ${seconds}\n  ${end}\n  exit ${index % 4}\n`;
}

interface Interval { job: number; gpu: string; start: bigint; end: bigint }

/** GPU holding intervals from the jobs' own trace lines. */
function intervals(trace: string): Interval[] {
  const starts = new Map<string, { gpus: string[]; at: bigint }>();
  const found: Interval[] = [];
  for (const line of readFileSync(trace, 'utf8').split('\n').filter(Boolean)) {
    const [job, , gpus, at, what] = line.split(' ');
    if (what === 'start') starts.set(job!, { gpus: gpus!.split(','), at: BigInt(at!) });
    const began = starts.get(job!);
    if (what === 'end' && began) for (const gpu of began.gpus) found.push({ job: Number(job), gpu, start: began.at, end: BigInt(at!) });
  }
  return found;
}

function overlaps(all: Interval[]): number {
  let count = 0;
  const byGpu = groupBy(all, (i) => i.gpu);
  for (const list of byGpu.values()) {
    list.sort((a, b) => (a.start < b.start ? -1 : 1));
    for (let i = 1; i < list.length; i++) if (list[i]!.start < list[i - 1]!.end) count += 1;
  }
  return count;
}

async function startServer(home: string): Promise<ServerProcess> {
  live = await serverProcess(home, ['--gpus', 'A100:4', '--kill-grace', '1']);
  return live;
}

describe('chaos: SIGKILL the server while 500 jobs are submitted and run', () => {
  it('stores every submission exactly once through retries with its key, keeps real exit codes and never double-allocates a GPU', async () => {
    const home = await tempHome();
    const trace = join(home, 'gpu-trace.txt');
    appendFileSync(trace, '');
    const next = random(20261127);
    let server = await startServer(home);
    const acknowledged = new Map<number, number>(); // index -> job id
    let retried = 0; // submissions that needed more than one try (a kill took the answer or the server)
    let replayed = 0; // of those, the ones whose first try had been committed: the answer was lost
    const refused: string[] = []; // answers that were a refusal: none is expected
    let kills = 0;
    let nextIndex = 0;
    let submitting = true;
    // Four clients submit at once, so kills land while requests are in flight. A try that finds no
    // server (or loses its answer) is retried with the same key until the restarted server answers.
    const submitter = async () => {
      while (nextIndex < JOBS) {
        const index = nextIndex++;
        try {
          const answer = await submitWithRetry(() => server.client, { task: task(index, trace) }, { idempotencyKey: `chaos-${index}`, attempts: 60, baseDelayMs: 50, maxDelayMs: 500 });
          acknowledged.set(index, answer.id!);
          if (answer.attempts > 1) retried += 1;
          if (answer.replayed) replayed += 1;
        } catch (error) {
          refused.push(`chaos-${index}: ${String(error)}`);
        }
      }
    };
    const killer = async () => {
      while (kills < KILLS && submitting) {
        // Spread over the run: the k-th kill comes after about k/(KILLS+1) of the submissions.
        while (nextIndex < ((kills + 1) * JOBS) / (KILLS + 1)) await sleep(10);
        await sleep(next() * 300);
        server.child.kill('SIGKILL');
        await new Promise((r) => server.child.once('exit', r));
        kills += 1;
        server = await startServer(home);
      }
    };
    const killing = killer();
    await Promise.all([submitter(), submitter(), submitter(), submitter()]);
    submitting = false;
    await killing;
    const client = server.client;
    const jobs = await allJobs(client);
    const byName = groupBy(jobs, (j) => j.name ?? '');
    const lost = [...acknowledged].filter(([index, id]) => !jobs.some((j) => j.id === id && j.name === `chaos-${index}`)).length;
    const duplicates = [...byName.values()].filter((list) => list.length > 1).length;
    const ended = await waitAllEnded(client, jobs.map((j) => j.id));
    const wrongExit = ended.filter((j) => j.exitCode !== Number(j.name!.slice('chaos-'.length)) % 4);
    const doubleHeld = overlaps(intervals(trace));
    const figures = {
      jobs: JOBS, kills, acknowledged: acknowledged.size, retriedAfterNoAnswer: retried, committedButUnanswered: replayed, refused: refused.length,
      stored: jobs.length, lost, duplicates, exitCodesChecked: ended.length, wrongExitCodes: wrongExit.length, gpuOverlaps: doubleHeld,
    };
    process.stdout.write(`chaos figures: ${JSON.stringify(figures)}\n`);
    mkdirSync(join(REPO, 'test-output'), { recursive: true });
    writeFileSync(join(REPO, 'test-output', 'chaos.json'), JSON.stringify(figures, null, 2) + '\n');
    expect(kills).toBe(KILLS);
    expect(refused).toEqual([]);
    expect(acknowledged.size).toBe(JOBS);
    expect(jobs.length).toBe(acknowledged.size);
    expect(lost).toBe(0);
    expect(duplicates).toBe(0);
    expect(ended.length).toBe(JOBS);
    expect(wrongExit.map((j) => `${j.name}: ${j.state} ${j.exitCode} (${j.reason})`)).toEqual([]);
    expect(doubleHeld).toBe(0);
  }, 300_000);
});

/** Map.groupBy is Node 21+. */
function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return groups;
}

async function allJobs(client: StintClient) {
  return (await client.listJobs({ all: true, limit: 10_000 })).jobs;
}

async function waitAllEnded(client: StintClient, ids: number[]) {
  const deadline = Date.now() + 180_000;
  for (;;) {
    const jobs = (await allJobs(client)).filter((j) => ids.includes(j.id));
    if (jobs.every(isEnded)) return jobs;
    if (Date.now() > deadline) throw new Error(`still not ended: ${jobs.filter((j) => !isEnded(j)).map((j) => `${j.id} ${j.state} ${j.reason}`).slice(0, 5).join('; ')}`);
    await sleep(250);
  }
}
