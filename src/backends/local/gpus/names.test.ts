import { describe, expect, it } from 'vitest';
import { GPU_NAME_PATTERN, nominalMemoryMb, normalizeGpuName } from './names.js';

const CASES: readonly [reported: string, name: string][] = [
  ['NVIDIA A100-SXM4-80GB', 'A100-80GB'],
  ['NVIDIA A100 80GB PCIe', 'A100-80GB'],
  ['A100-SXM-80GB', 'A100-80GB'],
  ['NVIDIA A100-SXM4-40GB', 'A100'],
  ['NVIDIA A100-PCIE-40GB', 'A100'],
  ['NVIDIA H100 80GB HBM3', 'H100'],
  ['NVIDIA H100 PCIe', 'H100'],
  ['NVIDIA H200', 'H200'],
  ['NVIDIA H200-141C', 'H200'],
  ['NVIDIA GH200 480GB', 'GH200'],
  ['Tesla V100-SXM2-16GB', 'V100'],
  ['Tesla V100-SXM2-32GB', 'V100-32GB'],
  ['Tesla P100-PCIE-16GB', 'P100'],
  ['NVIDIA GeForce RTX 4090', 'RTX4090'],
  ['NVIDIA GeForce RTX 4080 SUPER', 'RTX4080-SUPER'],
  ['NVIDIA GeForce RTX 3080 Ti', 'RTX3080-Ti'],
  ['NVIDIA GeForce GTX 1080 Ti', 'GTX1080-Ti'],
  ['NVIDIA RTX A6000', 'A6000'],
  ['NVIDIA RTX 6000 Ada Generation', 'RTX6000-Ada'],
  ['Quadro RTX 4000', 'RTX4000'],
  ['NVIDIA L4', 'L4'],
  ['NVIDIA L40', 'L40'],
  ['NVIDIA L40S', 'L40S'],
  ['NVIDIA A10G', 'A10G'],
  ['NVIDIA A10', 'A10'],
  ['NVIDIA A40', 'A40'],
  ['Tesla T4', 'T4'],
  ['MI300X', 'MI300X'],
  ['AMD Instinct MI300X OAM', 'MI300X'],
  ['Instinct MI250X', 'MI250X'],
  ['AMD INSTINCT MI250 (MCM) OAM AC MBA', 'MI250'],
  ['Arcturus GL-XL [AMD Instinct MI100]', 'MI100'],
  ['Radeon RX 7900 XT', 'RX7900XT'],
  ['AMD Radeon PRO W7900', 'W7900'],
  ['Apple M2 Max', 'M2-Max'],
  ['Apple M1', 'M1'],
  ['Apple M3 Pro', 'M3-Pro'],
  ['Apple M2 Ultra', 'M2-Ultra'],
  ['NVIDIA A800-SXM4-80GB', 'A800-80GB'],
  ['Intel Iris Pro', 'Iris-Pro'],
  ['NVIDIA', 'GPU'],
];

describe('normalizeGpuName', () => {
  it.each(CASES)('%s → %s', (reported, name) => {
    expect(normalizeGpuName(reported)).toBe(name);
  });

  it('always returns a name a task file can write', () => {
    for (const [reported] of CASES) expect(normalizeGpuName(reported)).toMatch(GPU_NAME_PATTERN);
    expect(normalizeGpuName('  weird (card) #7 ')).toMatch(GPU_NAME_PATTERN);
  });

  it('is idempotent on the names it returns, so `--gpus A100-80GB:1` stays A100-80GB', () => {
    for (const [, name] of CASES) expect(normalizeGpuName(name)).toBe(name);
  });
});

describe('nominalMemoryMb', () => {
  it('knows the common models and nothing else', () => {
    expect(nominalMemoryMb('A100')).toBe(40960);
    expect(nominalMemoryMb('A100-80GB')).toBe(81920);
    expect(nominalMemoryMb('H100')).toBe(81920);
    expect(nominalMemoryMb('MI300X')).toBe(196608);
    expect(nominalMemoryMb('NoSuchCard')).toBeUndefined();
  });
});
