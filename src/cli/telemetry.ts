// How `stint job ID` shows a job's GPU telemetry: per attempt the mean and peak utilisation, the
// peak memory, idle GPU-hours, and a sparkline of utilisation over the attempt's life; then what
// the idle-GPU policy watching it says.

import type { JobTelemetryView } from '../api/observability-schemas.js';

const BARS = '▁▂▃▄▅▆▇█';

export function renderTelemetry(t: JobTelemetryView): string {
  const lines: string[] = [];
  for (const a of t.attempts) {
    if (a.series.length === 0) continue;
    const seconds = a.series.reduce((s, p) => s + p.seconds, 0);
    const mean = a.series.reduce((s, p) => s + p.utilization * p.seconds, 0) / Math.max(seconds, 1e-9);
    const peak = Math.max(...a.series.map((p) => p.utilization));
    const memory = Math.max(...a.series.map((p) => p.memoryUsedMb));
    const spark = a.series.map((p) => BARS[Math.min(BARS.length - 1, Math.floor(p.utilization * BARS.length))]).join('');
    lines.push(`GPU use (attempt ${a.attempt})  utilisation mean ${pct(mean)}, peak ${pct(peak)}; memory peak ${gb(memory)}; idle ${(a.idleGpuSeconds / 3600).toFixed(2)} of ${(a.gpuSeconds / 3600).toFixed(2)} GPU-hours`);
    lines.push(`  ${spark}`);
  }
  if (t.idle?.since) {
    const p = t.idle.policy;
    lines.push(`Idle GPUs  below ${p.thresholdPercent}% since ${t.idle.since}${t.idle.warnedAt ? `; owner warned ${t.idle.warnedAt}` : ''}${t.idle.stoppedAt ? `; stopped ${t.idle.stoppedAt}` : p.stopAfterSeconds === null ? '' : `; stopped after ${p.stopAfterSeconds} s idle`}`);
  }
  return lines.join('\n');
}

function pct(ratio: number): string {
  return `${Math.round(ratio * 100)}%`;
}

function gb(mb: number): string {
  return mb >= 1024 ? `${(mb / 1024).toFixed(1)} GB` : `${Math.round(mb)} MB`;
}
