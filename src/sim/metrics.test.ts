// Every metric of a replay, checked exactly on tiny traces computed by hand (see the comments).
import { describe, expect, it } from 'vitest';
import { replay } from './engine.js';
import { boundedSlowdown, median, percentile } from './metrics.js';
import { fifoPolicy } from './simple-policies.js';
import type { TraceJob } from './trace.js';

const job = (id: number, submit: number, duration: number, gpus: number, tenant = 'A'): TraceJob => ({ id, submit, duration, gpus, tenant, user: tenant });

describe('metric helpers', () => {
  it('median is the mean of the two middle values; percentiles take the nearest rank', () => {
    expect(median([1, 2, 3, 10])).toBe(2.5);
    expect(median([1, 2, 30])).toBe(2);
    // n = 10: p50 -> rank 5, p95 -> rank ceil(9.5) = 10, p99 -> rank 10, p10 -> rank 1
    const ten = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(percentile(ten, 50)).toBe(5);
    expect(percentile(ten, 95)).toBe(10);
    expect(percentile(ten, 10)).toBe(1);
  });

  it('bounded slowdown uses a 10 s threshold and never goes below 1', () => {
    expect(boundedSlowdown(85, 5)).toBe(8.5); // 85 / max(5, 10)
    expect(boundedSlowdown(140, 50)).toBe(2.8);
    expect(boundedSlowdown(3, 5)).toBe(1);
  });
});

describe('a FIFO replay on one node of 2 GPUs, two tenants', () => {
  // J1 (A) 0..100 on both GPUs. J2 (B, 1 GPU, 50 s) and J3 (B, 1 GPU, 5 s) wait for it and
  // both start at 100: J2 ends 150, J3 ends 105.
  const jobs = [job(1, 0, 100, 2, 'A'), job(2, 10, 50, 1, 'B'), job(3, 20, 5, 1, 'B')];
  const { result } = replay({ jobs, nodes: 1, gpusPerNode: 2 }, fifoPolicy());

  it('JCT, queueing delay and their percentiles', () => {
    // JCT: 100, 140, 85 -> mean 325/3, median 100
    expect(result.jobs).toBe(3);
    expect(result.avgJct).toBeCloseTo(325 / 3, 9);
    expect(result.medianJct).toBe(100);
    // queueing: 0, 90, 80 -> mean 170/3; sorted [0, 80, 90]: p50 rank 2 = 80, p95 and p99 rank 3 = 90
    expect(result.avgQueueDelay).toBeCloseTo(170 / 3, 9);
    expect(result.p50QueueDelay).toBe(80);
    expect(result.p95QueueDelay).toBe(90);
    expect(result.p99QueueDelay).toBe(90);
  });

  it('makespan, utilisation and bounded slowdown', () => {
    // makespan 150 - 0; busy GPU-s 200 + 50 + 5 = 255 over 2 GPUs x 150 s
    expect(result.makespan).toBe(150);
    expect(result.utilization).toBeCloseTo(255 / 300, 12);
    // slowdowns: 100/100 = 1, 140/50 = 2.8, 85/max(5,10) = 8.5 -> mean 12.3/3 = 4.1
    expect(result.avgBoundedSlowdown).toBeCloseTo(4.1, 12);
  });

  it('tenant shares, fair shares and Jain indexes', () => {
    // GPU-s: A 200, B 55. Fair allocation (water-filling, equal weights, capacity 2):
    // [0,10) A alone wants 2 -> A 2; [10,100) both want 2 -> 1 each; [100,105) B wants 2 -> 2;
    // [105,150) B wants 1 -> 1. Fair GPU-s: A 20 + 90 = 110; B 90 + 10 + 45 = 145.
    expect(result.tenants.A!.gpuSeconds).toBe(200);
    expect(result.tenants.B!.gpuSeconds).toBe(55);
    expect(result.tenants.A!.share).toBeCloseTo(200 / 255, 12);
    expect(result.tenants.A!.fairShare).toBeCloseTo(110 / 255, 12);
    expect(result.tenants.B!.fairShare).toBeCloseTo(145 / 255, 12);
    // Both tenants active only in [10,100): A holds 2 of a fair 1, B 0 of 1 -> x = (2, 0), Jain 4/(2*4) = 0.5
    expect(result.jainIndex).toBeCloseTo(0.5, 12);
    // whole run: x_A = (200/255)/(110/255) = 200/110, x_B = 55/145
    const xa = 200 / 110;
    const xb = 55 / 145;
    expect(result.jainIndexTotal).toBeCloseTo((xa + xb) ** 2 / (2 * (xa * xa + xb * xb)), 12);
  });
});
