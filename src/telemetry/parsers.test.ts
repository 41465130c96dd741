// The telemetry parsers on captured tool outputs (test/fixtures/gpus, sources in SOURCES.md) and on
// hand-written cases, labelled as such, for what no public capture shows.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { normalizeBusId, parseFakeTelemetry, parseNvidiaTelemetry, parsePowermetrics, parseRocmTelemetry, parseXidLines } from './parsers.js';

const fixture = (name: string) => readFileSync(join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'gpus', name), 'utf8');

describe('nvidia-smi telemetry', () => {
  it('reads the captured idle H200', () => {
    const { samples, busIds } = parseNvidiaTelemetry(fixture('nvidia-telemetry-h200.csv'));
    expect(samples).toEqual([{ index: 0, uuid: 'GPU-00000000-0000-0000-0000-000000000000', utilization: 0, memoryUsedMb: 0, memoryTotalMb: 143771, eccUncorrected: 0, xids: [] }]);
    expect(busIds.get(normalizeBusId('0000:83:00'))).toBe(0);
  });

  it('keeps unavailable values unknown, never zero (hand-written: MIG and consumer cards print [N/A])', () => {
    const { samples } = parseNvidiaTelemetry('0, GPU-x, [N/A], 512, 81559, [N/A], 00000000:1A:00.0\n1, GPU-y, 87, 40000, 81559, 2, 00000000:1B:00.0\n');
    expect(samples[0]).toMatchObject({ utilization: null, memoryUsedMb: 512, eccUncorrected: null });
    expect(samples[1]).toMatchObject({ utilization: 0.87, eccUncorrected: 2 });
  });

  it('refuses output it cannot read', () => {
    expect(() => parseNvidiaTelemetry('NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.')).toThrow(/nvidia-smi/);
  });

  it('finds Xid lines and their GPU by bus id (line format from NVIDIA\'s Xid documentation)', () => {
    const xids = parseXidLines('[ 1234.5] NVRM: Xid (PCI:0000:83:00): 79, pid=1234, GPU has fallen off the bus.\nother line\n');
    expect(xids).toEqual([{ busId: normalizeBusId('00000000:83:00.0'), code: 79, line: '[ 1234.5] NVRM: Xid (PCI:0000:83:00): 79, pid=1234, GPU has fallen off the bus.' }]);
  });
});

describe('rocm-smi and powermetrics telemetry', () => {
  it('reads the captured RX 7900 XT', () => {
    const [gpu] = parseRocmTelemetry(fixture('rocm-rx7900xt.json'));
    expect(gpu).toMatchObject({ index: 0, utilization: 0, eccUncorrected: null });
    expect(gpu!.memoryUsedMb).toBeCloseTo(27856896 / 2 ** 20, 5);
    expect(gpu!.memoryTotalMb).toBeCloseTo(21458059264 / 2 ** 20, 5);
  });

  it('reads the captured powermetrics GPU section', () => {
    expect(parsePowermetrics(fixture('powermetrics-gpu-busy.txt'))).toEqual([{ index: 0, uuid: null, utilization: 1, memoryUsedMb: null, memoryTotalMb: null, eccUncorrected: null, xids: [] }]);
    expect(() => parsePowermetrics('no gpu here')).toThrow(/powermetrics/);
  });
});

describe('fake telemetry file', () => {
  it('reads utilisation as a ratio or a percentage, and Xids', () => {
    expect(parseFakeTelemetry('{"gpus":[{"index":0,"utilization":0.5,"memoryUsedMb":100},{"index":1,"utilizationPercent":20,"xids":[79]}]}')).toEqual([
      { index: 0, uuid: null, utilization: 0.5, memoryUsedMb: 100, memoryTotalMb: null, eccUncorrected: null, xids: [] },
      { index: 1, uuid: null, utilization: 0.2, memoryUsedMb: null, memoryTotalMb: null, eccUncorrected: null, xids: [79] },
    ]);
    expect(() => parseFakeTelemetry('{"gpus":[{"utilization":1}]}')).toThrow(/index/);
  });
});
