import { describe, expect, it } from 'vitest';
import { StintError } from '../../../core/errors.js';
import { DEFAULT_FAKE_MEMORY_MB, GENERIC_FAKE_GPU, parseFakeGpus } from './fake.js';

function failure(spec: string): StintError {
  try {
    parseFakeGpus(spec);
  } catch (error) {
    if (error instanceof StintError) return error;
    throw error;
  }
  throw new Error(`parseFakeGpus(${JSON.stringify(spec)}) did not throw`);
}

describe('parseFakeGpus', () => {
  it('reads TYPE:N as N GPUs of that type', () => {
    const gpus = parseFakeGpus('A100:4');
    expect(gpus.map((g) => g.index)).toEqual([0, 1, 2, 3]);
    expect(gpus.every((g) => g.name === 'A100' && g.memoryMb === 40960 && g.vendor === 'fake' && g.healthy)).toBe(true);
    expect(new Set(gpus.map((g) => g.uuid)).size).toBe(4);
  });

  it('reads a bare count as generic GPUs', () => {
    const gpus = parseFakeGpus('4');
    expect(gpus).toHaveLength(4);
    expect(gpus.every((g) => g.name === GENERIC_FAKE_GPU && g.memoryMb === DEFAULT_FAKE_MEMORY_MB)).toBe(true);
  });

  it('continues indices across a list and uses per-model memory', () => {
    const gpus = parseFakeGpus('A100:2, H100:2,A100-80GB:1');
    expect(gpus.map((g) => [g.index, g.name, g.memoryMb])).toEqual([
      [0, 'A100', 40960],
      [1, 'A100', 40960],
      [2, 'H100', 81920],
      [3, 'H100', 81920],
      [4, 'A100-80GB', 81920],
    ]);
  });

  it('names types the way task files do', () => {
    expect(parseFakeGpus('h100:1')[0]?.name).toBe('H100');
    expect(parseFakeGpus('MyCard:1')[0]).toMatchObject({ name: 'MyCard', memoryMb: DEFAULT_FAKE_MEMORY_MB });
  });

  it.each([
    ['A100:0', 'at least 1'],
    ['A100:x', 'whole number'],
    ['A100:1.5', 'whole number'],
    [':2', 'no GPU type'],
    ['A100', 'has no count'],
    ['', 'empty'],
    ['A100:2,', 'empty'],
    ['A 100:2', 'not a GPU type name'],
    ['A100:9999', 'more than'],
  ])('rejects %j, naming the flag, the value and the accepted forms', (spec, problem) => {
    const error = failure(spec);
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.message).toContain('--gpus');
    expect(error.message).toContain(JSON.stringify(spec));
    expect(error.message).toContain(problem);
    expect(error.message).toContain('A100:2,H100:2');
    expect(error.details).toMatchObject({ flag: '--gpus', value: spec });
  });
});
