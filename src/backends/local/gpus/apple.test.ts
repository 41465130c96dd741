import { describe, expect, it } from 'vitest';
import { StintError } from '../../../core/errors.js';
import { parseAppleChips, parseAppleGpus } from './apple.js';
import { fixture } from '../../../../test/fixtures/gpus/fixtures.js';

describe('parseAppleGpus on captured outputs', () => {
  it('offers one M2 Max with 75% of 32 GiB of unified memory', () => {
    const gpus = parseAppleGpus(fixture('apple-m2max-displays.json'), fixture('apple-m2max-memsize.txt'));
    expect(gpus).toEqual([{ index: 0, name: 'M2-Max', model: 'Apple M2 Max', memoryMb: 24576, vendor: 'apple', healthy: true }]);
    expect(parseAppleChips(fixture('apple-m2max-displays.json'))).toEqual([{ model: 'Apple M2 Max', gpuCores: 30 }]);
  });

  it('reads the chip from sppci_model, not from _name or the displays', () => {
    const gpus = parseAppleGpus(fixture('apple-m1-displays.json'), '8589934592\n');
    expect(gpus).toEqual([{ index: 0, name: 'M1', model: 'Apple M1', memoryMb: 6144, vendor: 'apple', healthy: true }]);
    expect(parseAppleChips(fixture('apple-m1-displays.json'))[0]?.gpuCores).toBe(7);
  });
});

describe('parseAppleGpus on hand-written edge cases', () => {
  it('leaves out Intel and AMD adapters of Intel Macs', () => {
    const text = JSON.stringify({
      SPDisplaysDataType: [
        { _name: 'Intel Iris Pro', sppci_model: 'Intel Iris Pro' },
        { _name: 'kHW_AMDRadeonPro5500MItem', sppci_model: 'AMD Radeon Pro 5500M', spdisplays_vram: '4 GB' },
      ],
    });
    expect(parseAppleGpus(text, '17179869184')).toEqual([]);
  });

  it('rejects output that is not the report, and a memsize that is not a byte count', () => {
    expect(() => parseAppleGpus('not json', '1')).toThrow(StintError);
    expect(() => parseAppleGpus(fixture('apple-m1-displays.json'), 'hw.memsize: lots')).toThrow(/hw\.memsize/);
  });
});
