// Benchmark: 2,000 tiny jobs on 8 fake GPUs. Sustained submissions/s (all acknowledged), starts/s
// (first to last start) and end-to-end jobs/s (first submission to last end).

import { round, startBenchServer } from './server.js';

export async function benchThroughput(jobs = 2000, inFlight = 32): Promise<Record<string, unknown>> {
  const server = await startBenchServer(['--gpus', 'A100:8']);
  try {
    const task = 'resources: {accelerators: A100:1}\nrun: "true"\n';
    const begin = Date.now();
    let next = 0;
    const ids: number[] = [];
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (next < jobs) {
          next += 1;
          ids.push((await server.client.submit({ task })).id!);
        }
      }),
    );
    const submitted = Date.now();
    for (;;) {
      const { jobs: active } = await server.client.listJobs({ limit: 1 });
      if (active.length === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const { jobs: done } = await server.client.listJobs({ all: true, limit: jobs });
    const starts = done.map((j) => Date.parse(j.startedAt!)).sort((a, b) => a - b);
    const ends = done.map((j) => Date.parse(j.endedAt!));
    const startSpan = (starts[starts.length - 1]! - starts[0]!) / 1000;
    return {
      bench: 'throughput',
      jobs,
      gpus: 8,
      clientsInFlight: inFlight,
      submissionsPerSec: round(jobs / ((submitted - begin) / 1000)),
      startsPerSec: round(jobs / startSpan),
      endToEndJobsPerSec: round(jobs / ((Math.max(...ends) - begin) / 1000)),
      succeeded: done.filter((j) => j.state === 'SUCCEEDED').length,
      budget: { submissionsPerSec: 1000, endToEndJobsPerSec: 200 },
    };
  } finally {
    await server.stop();
  }
}
