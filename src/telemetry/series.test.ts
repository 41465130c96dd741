import { describe, expect, it } from 'vitest';
import { addPoint } from './series.js';
import type { TelemetryPoint } from '../store/observability.js';

describe('telemetry downsampling', () => {
  it('keeps every point up to the limit, then merges neighbours with time-weighted means', () => {
    let series: TelemetryPoint[] = [];
    for (let i = 0; i < 4; i++) series = addPoint(series, { at: i * 1000, seconds: 1, utilization: i % 2, memoryUsedMb: 100 * i }, 4);
    expect(series).toHaveLength(4);
    series = addPoint(series, { at: 4000, seconds: 3, utilization: 1, memoryUsedMb: 400 }, 4);
    expect(series).toEqual([
      { at: 0, seconds: 2, utilization: 0.5, memoryUsedMb: 50 },
      { at: 2000, seconds: 2, utilization: 0.5, memoryUsedMb: 250 },
      { at: 4000, seconds: 3, utilization: 1, memoryUsedMb: 400 },
    ]);
  });

  it('stays bounded over a long job and covers all of its time', () => {
    let series: TelemetryPoint[] = [];
    for (let i = 0; i < 10_000; i++) series = addPoint(series, { at: i * 5000, seconds: 5, utilization: 0.25, memoryUsedMb: 10 });
    expect(series.length).toBeLessThanOrEqual(120);
    expect(series.reduce((s, p) => s + p.seconds, 0)).toBe(50_000);
    expect(series.every((p) => p.utilization === 0.25)).toBe(true);
  });
});
