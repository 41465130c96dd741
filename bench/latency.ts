// Benchmark: submit -> running latency on an idle machine, 200 jobs one after another, measured
// from the server's own timestamps (submittedAt, startedAt).

import { percentile, round, startBenchServer } from './server.js';

export async function benchLatency(jobs = 200, serverArgs: string[] = []): Promise<Record<string, unknown>> {
  const server = await startBenchServer(['--gpus', 'A100:8', ...serverArgs]);
  try {
    const latencies: number[] = [];
    for (let i = 0; i < jobs; i++) {
      const { id } = await server.client.submit({ task: 'resources: {accelerators: A100:1}\nrun: "true"\n' });
      for (;;) {
        const job = await server.client.getJob(id!);
        if (job.state === 'SUCCEEDED' || job.state === 'FAILED') {
          latencies.push(Date.parse(job.startedAt!) - Date.parse(job.submittedAt));
          break;
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    return {
      bench: 'submit_to_running',
      jobs,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      maxMs: Math.max(...latencies),
      meanMs: round(latencies.reduce((a, b) => a + b, 0) / latencies.length),
      budget: { p50Ms: 50, p99Ms: 250 },
    };
  } finally {
    await server.stop();
  }
}
