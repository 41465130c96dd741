import { describe, expect, it } from 'vitest';
import { fixture } from '../../../../test/fixtures/gpus/fixtures.js';
import { NVIDIA_SMI_QUERY_ARGS, parseNvidiaSmiCsv, parseNvidiaSmiRows } from './nvidia.js';

describe('NVIDIA_SMI_QUERY_ARGS', () => {
  it('is exactly the query the local backend runs', () => {
    expect(['nvidia-smi', ...NVIDIA_SMI_QUERY_ARGS].join(' ')).toBe(
      'nvidia-smi --query-gpu=index,uuid,name,memory.total,memory.used,utilization.gpu,pci.bus_id --format=csv,noheader,nounits',
    );
  });
});

describe('parseNvidiaSmiCsv on captured outputs', () => {
  it('reads an 8× H100 SXM node', () => {
    const gpus = parseNvidiaSmiCsv(fixture('nvidia-h100x8.csv'));
    expect(gpus).toHaveLength(8);
    expect(gpus.map((g) => g.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(gpus.every((g) => g.name === 'H100' && g.model === 'NVIDIA H100 80GB HBM3' && g.memoryMb === 81559)).toBe(true);
    expect(gpus.every((g) => g.vendor === 'nvidia' && g.healthy)).toBe(true);
    expect(gpus[0]?.uuid).toBe('GPU-b42dd28e-ffdd-8720-1df0-98bd8cdc05b1');
    expect(gpus[7]?.uuid).toBe('GPU-33135771-a848-ece1-b61e-489e221d663c');
  });

  it('reads a 4× A100 80GB node', () => {
    const gpus = parseNvidiaSmiCsv(fixture('nvidia-a100x4.csv'));
    expect(gpus.map((g) => [g.index, g.name, g.memoryMb])).toEqual([
      [0, 'A100-80GB', 81920],
      [1, 'A100-80GB', 81920],
      [2, 'A100-80GB', 81920],
      [3, 'A100-80GB', 81920],
    ]);
  });

  it('reads an 8× A100 header-and-units paste whose columns are in another order', () => {
    const rows = parseNvidiaSmiRows(fixture('nvidia-a100x8-pasted-header.csv'));
    expect(rows).toHaveLength(8);
    expect(rows[0]).toEqual({ index: 0, name: 'NVIDIA A100-SXM4-80GB', memoryTotalMb: 81920, memoryUsedMb: 66147, utilizationPct: 99 });
    expect(rows[5]).toMatchObject({ index: 5, memoryUsedMb: 0, utilizationPct: 0 });
    const gpus = parseNvidiaSmiCsv(fixture('nvidia-a100x8-pasted-header.csv'));
    expect(gpus.every((g) => g.name === 'A100-80GB' && g.memoryMb === 81920 && g.healthy && g.uuid === undefined)).toBe(true);
  });

  it('reads a consumer card from the header-and-units form', () => {
    const [row] = parseNvidiaSmiRows(fixture('nvidia-rtx4080super-header.csv'));
    expect(row).toEqual({
      index: 0,
      uuid: 'GPU-00000000-0000-0000-0000-000000000000',
      name: 'NVIDIA GeForce RTX 4080 SUPER',
      memoryTotalMb: 16376,
      memoryUsedMb: 596,
      utilizationPct: 0,
      pciBusId: '00000000:01:00.0',
    });
    expect(parseNvidiaSmiCsv(fixture('nvidia-rtx4080super-header.csv'))[0]).toMatchObject({ name: 'RTX4080-SUPER', memoryMb: 16376 });
  });

  it('keeps a MIG GPU whose utilization is [N/A], leaving that field out', () => {
    const [row] = parseNvidiaSmiRows(fixture('nvidia-h100-mig-na.csv'));
    expect(row).toEqual({
      index: 0,
      uuid: 'GPU-00000000-0000-0000-0000-000000000000',
      name: 'NVIDIA H100 80GB HBM3',
      memoryTotalMb: 81559,
      memoryUsedMb: 59,
      pciBusId: '00000000:00:09.0',
    });
    expect(parseNvidiaSmiCsv(fixture('nvidia-h100-mig-na.csv'))[0]).toMatchObject({ name: 'H100', healthy: true });
  });
});

describe('parseNvidiaSmiCsv on hand-written edge cases', () => {
  it('treats [Not Supported], N/A and [Unknown Error] as missing and marks unreadable GPUs unhealthy', () => {
    const text = [
      '0, GPU-a, NVIDIA GeForce GT 710, 2048, [Not Supported], [Not Supported], 00000000:01:00.0',
      '1, GPU-b, [Unknown Error], [Unknown Error], [Unknown Error], N/A, 00000000:02:00.0',
    ].join('\n');
    const gpus = parseNvidiaSmiCsv(text);
    expect(gpus[0]).toMatchObject({ index: 0, memoryMb: 2048, healthy: true });
    expect(gpus[1]).toMatchObject({ index: 1, model: 'unknown NVIDIA GPU', memoryMb: 0, healthy: false, uuid: 'GPU-b' });
  });

  it('tolerates extra spaces, CRLF, blank lines and messages, and sorts by index', () => {
    const text = '\r\n  1 ,  GPU-y ,  Tesla T4 ,  15360 ,  0 ,  0 ,  00000000:00:05.0  \r\nNo devices were found\r\n0, GPU-x, Tesla T4, 15360, 0, 0, 00000000:00:04.0\r\n';
    expect(parseNvidiaSmiCsv(text).map((g) => [g.index, g.name, g.uuid])).toEqual([
      [0, 'T4', 'GPU-x'],
      [1, 'T4', 'GPU-y'],
    ]);
  });

  it('skips rows with the wrong number of columns instead of shifting fields', () => {
    expect(parseNvidiaSmiCsv('0, GPU-x, Tesla T4, 15360\n')).toEqual([]);
  });

  it('accepts gpu_name/gpu_uuid/gpu_bus_id headers and numbers rows when there is no index column', () => {
    const text = 'gpu_name, gpu_uuid, memory.total [MiB]\nNVIDIA L4, GPU-1, 23034 MiB\nNVIDIA L4, GPU-2, 23034 MiB\n';
    expect(parseNvidiaSmiCsv(text).map((g) => [g.index, g.name, g.uuid, g.memoryMb])).toEqual([
      [0, 'L4', 'GPU-1', 23034],
      [1, 'L4', 'GPU-2', 23034],
    ]);
  });

  it('reads nothing from empty output or a header alone', () => {
    expect(parseNvidiaSmiCsv('')).toEqual([]);
    expect(parseNvidiaSmiCsv('index, name, memory.total [MiB]\n')).toEqual([]);
  });
});
