// Downsampling of a job's GPU telemetry: the series of one attempt never holds more than
// MAX_POINTS points, whatever the job's length. When a point would exceed it, neighbouring points
// are merged in pairs (time-weighted means), so the whole life of the job stays covered at a
// coarser step. Pure.

import type { TelemetryPoint } from '../store/observability.js';

export const MAX_POINTS = 120;

export function addPoint(series: readonly TelemetryPoint[], point: TelemetryPoint, max = MAX_POINTS): TelemetryPoint[] {
  const next = [...series, point];
  return next.length <= max ? next : mergePairs(next);
}

function mergePairs(series: readonly TelemetryPoint[]): TelemetryPoint[] {
  const merged: TelemetryPoint[] = [];
  for (let i = 0; i < series.length; i += 2) {
    const a = series[i]!;
    const b = series[i + 1];
    if (!b) {
      merged.push(a);
      continue;
    }
    const seconds = a.seconds + b.seconds;
    const weigh = (x: number, y: number) => (seconds === 0 ? (x + y) / 2 : (x * a.seconds + y * b.seconds) / seconds);
    merged.push({ at: a.at, seconds, utilization: weigh(a.utilization, b.utilization), memoryUsedMb: weigh(a.memoryUsedMb, b.memoryUsedMb) });
  }
  return merged;
}
