import { describe, expect, it } from 'vitest';
import { StintError } from '../../../core/errors.js';
import { fixture } from '../../../../test/fixtures/gpus/fixtures.js';
import { parseRocmSmiJson } from './rocm.js';

describe('parseRocmSmiJson on captured outputs', () => {
  it('reads a ROCm 6 report ("Card Series", hex "Card Model", VRAM in bytes)', () => {
    const gpus = parseRocmSmiJson(fixture('rocm-rx7900xt.json'));
    expect(gpus).toEqual([
      { index: 0, name: 'RX7900XT', model: 'Radeon RX 7900 XT', memoryMb: 20464, vendor: 'amd', healthy: true },
    ]);
  });

  it('reads an MI250 from an older `rocm-smi -a --json` ("Card series", no VRAM field) using its nominal memory', () => {
    const gpus = parseRocmSmiJson(fixture('rocm-mi250-all.json'));
    expect(gpus).toEqual([
      {
        index: 0,
        name: 'MI250',
        model: 'AMD INSTINCT MI250 (MCM) OAM AC MBA',
        memoryMb: 65536,
        vendor: 'amd',
        uuid: '0x719d230578348e8c',
        healthy: true,
      },
    ]);
  });
});

describe('parseRocmSmiJson on hand-written edge cases', () => {
  it('orders cards by number, indexes from 0 and ignores the system entry', () => {
    const text = JSON.stringify({
      system: { 'Driver version': '6.8.5' },
      card10: { 'Card Series': 'AMD Instinct MI300X OAM', 'VRAM Total Memory (B)': '206141652992' },
      card2: { 'Card series': 'AMD Instinct MI300X OAM', 'VRAM Total Memory (B)': '206141652992' },
    });
    expect(parseRocmSmiJson(text).map((g) => [g.index, g.name, g.memoryMb])).toEqual([
      [0, 'MI300X', 196592],
      [1, 'MI300X', 196592],
    ]);
  });

  it('prefers an Instinct part number over a wrong "Card model" and skips hex ids', () => {
    const text = JSON.stringify({
      card0: { 'Card series': 'AMD INSTINCT MI200 (MCM) OAM LC MBA HPE C2', 'Card model': 'FirePro W4300' },
      card1: { 'Card Model': '0x74a1', 'Card SKU': 'M3000100' },
    });
    const [first, second] = parseRocmSmiJson(text);
    expect(first?.model).toBe('AMD INSTINCT MI200 (MCM) OAM LC MBA HPE C2');
    expect(second).toMatchObject({ model: 'M3000100', memoryMb: 0, healthy: false });
  });

  it('skips warnings printed before the JSON', () => {
    const text = 'WARNING: AMD GPU device(s) is/are in a low-power state.\n{"card0": {"Card Series": "Instinct MI250X", "VRAM Total Memory (B)": "68702699520"}}';
    expect(parseRocmSmiJson(text)[0]).toMatchObject({ name: 'MI250X', memoryMb: 65520 });
  });

  it('fails loudly on output that holds no JSON report', () => {
    expect(() => parseRocmSmiJson('ERROR: GPU[0] : Unable to get product name')).toThrow(StintError);
  });
});
