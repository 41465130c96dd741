// Benchmark: 2,000 tiny jobs on 8 fake GPUs, in two phases so each rate is measured alone.
// 1. Submissions: a blocker job holds all 8 GPUs while clients submit 2,000 one-GPU jobs
//    (`run: true`) with 32 requests in flight: submissions/s = 2,000 / time to acknowledge all.
// 2. Starts: the blocker is cancelled; starts/s = jobs / (last start - first start), and
//    end-to-end jobs/s = jobs / (release -> last end), the rate at which a full queue drains.

import { percentile, round, startBenchServer } from './server.js';

export async function benchThroughput(jobs = 2000, inFlight = 32, serverArgs: string[] = []): Promise<Record<string, unknown>> {
  const server = await startBenchServer(['--gpus', 'A100:8', '--kill-grace', '1', ...serverArgs]);
  const { client } = server;
  try {
    const blocker = (await client.submit({ task: 'resources: {accelerators: A100:8}\nrun: sleep 600\n' })).id!;
    while ((await client.getJob(blocker)).state !== 'RUNNING') await new Promise((r) => setTimeout(r, 20));
    const task = 'resources: {accelerators: A100:1}\nrun: "true"\n';
    const latencies: number[] = [];
    let next = 0;
    const begin = performance.now();
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (next < jobs) {
          next += 1;
          const t = performance.now();
          await client.submit({ task });
          latencies.push(performance.now() - t);
        }
      }),
    );
    const submitSeconds = (performance.now() - begin) / 1000;
    const released = Date.now();
    await client.cancel(blocker);
    while ((await client.listJobs({ limit: 1 })).jobs.length > 0) await new Promise((r) => setTimeout(r, 100));
    const { jobs: done } = await client.listJobs({ all: true, limit: jobs + 1 });
    const tiny = done.filter((j) => j.id !== blocker);
    const starts = tiny.map((j) => Date.parse(j.startedAt!)).sort((a, b) => a - b);
    const lastEnd = Math.max(...tiny.map((j) => Date.parse(j.endedAt!)));
    return {
      bench: 'throughput',
      jobs,
      gpus: 8,
      clientsInFlight: inFlight,
      submissionsPerSec: round(jobs / submitSeconds),
      submitLatencyP50Ms: round(percentile(latencies, 50)),
      submitLatencyP99Ms: round(percentile(latencies, 99)),
      startsPerSec: round(jobs / ((starts[starts.length - 1]! - starts[0]!) / 1000)),
      endToEndJobsPerSec: round(jobs / ((lastEnd - released) / 1000)),
      succeeded: tiny.filter((j) => j.state === 'SUCCEEDED').length,
      budget: { submissionsPerSec: 1000, endToEndJobsPerSec: 200 },
    };
  } finally {
    await server.stop();
  }
}
