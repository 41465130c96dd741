// Measures how long the event loop of this process was blocked while some requests ran, with
// perf_hooks.monitorEventLoopDelay (the delay of a 10 ms timer, not wall time), so a test against an
// in-process server can assert that no request blocked the server's loop for more than a bound.

import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface LoopDelay {
  /** The longest delay seen, in ms. */
  maxMs: number;
  p99Ms: number;
}

/** Runs `work` while the monitor samples; resolves with its result and the worst delay. */
export async function withLoopMonitor<T>(work: () => Promise<T>): Promise<{ result: T; delay: LoopDelay }> {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  try {
    const result = await work();
    // Let the monitor's timer fire once more, so a block that ended the work is sampled too.
    await new Promise((resolve) => setTimeout(resolve, 30));
    return { result, delay: { maxMs: histogram.max / 1e6, p99Ms: histogram.percentile(99) / 1e6 } };
  } finally {
    histogram.disable();
  }
}

/** The bound of issue 11: no request blocks the event loop for more than 200 ms. */
export const MAX_LOOP_DELAY_MS = 200;
