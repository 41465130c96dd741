// Following a job's output through the API: read from an offset until the attempt is done, move
// on to the next attempt if the job is retried, and stop when the job has ended.

import type { StintClient } from '../api/client.js';
import { TerminalFilter } from './terminal-safe.js';

const POLL_MS = 200;

export async function followLogs(client: StintClient, id: number, write: (text: string) => void, options: { follow: boolean }): Promise<void> {
  let attempt: number | undefined;
  let offset = 0;
  for (;;) {
    const chunk = await client.logs(id, { offset, attempt });
    if (chunk.text) write(chunk.text);
    offset = chunk.nextOffset;
    if (chunk.nextOffset < chunk.size) continue;
    if (!options.follow) return;
    if (chunk.done) {
      const job = await client.getJob(id);
      if (job.attempt > (chunk.attempt ?? 0) && job.state !== 'SUCCEEDED' && job.state !== 'FAILED' && job.state !== 'CANCELLED') {
        attempt = job.attempt;
        offset = 0;
        continue;
      }
      if (['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(job.state)) return;
    }
    if (chunk.attempt !== null) attempt = chunk.attempt;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/**
 * Writes a job's output to stdout: on a terminal without the escape strings that could drive it
 * (OSC clipboard/title, DCS, APC); piped or redirected, byte for byte.
 */
export function terminalWriter(): (text: string) => void {
  if (!process.stdout.isTTY) return (text) => process.stdout.write(text);
  const filter = new TerminalFilter();
  return (text) => process.stdout.write(filter.push(text));
}
