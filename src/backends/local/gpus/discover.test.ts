import { describe, expect, it } from 'vitest';
import { StintError } from '../../../core/errors.js';
import { type CommandRunner, detectHostResources, discoverGpus, runCommand } from './discover.js';
import { fixture } from '../../../../test/fixtures/gpus/fixtures.js';

/** A machine that answers each tool with a captured output (or not at all), recording what ran. */
function machine(outputs: Partial<Record<string, string>>): { run: CommandRunner; ran: string[] } {
  const ran: string[] = [];
  const run: CommandRunner = async (cmd, args) => {
    ran.push([cmd, ...args].join(' '));
    return outputs[cmd] ?? null;
  };
  return { run, ran };
}

describe('discoverGpus', () => {
  it('uses --gpus and runs nothing when it is given', async () => {
    const { run, ran } = machine({ 'nvidia-smi': fixture('nvidia-h100x8.csv') });
    const found = await discoverGpus({ fake: 'A100:2', run });
    expect(found.source).toBe('fake');
    expect(found.gpus.map((g) => g.name)).toEqual(['A100', 'A100']);
    expect(ran).toEqual([]);
  });

  it('reads nvidia-smi first, with the exact query', async () => {
    const { run, ran } = machine({ 'nvidia-smi': fixture('nvidia-h100x8.csv'), 'rocm-smi': fixture('rocm-rx7900xt.json') });
    const found = await discoverGpus({ run, platform: 'linux' });
    expect(found.source).toBe('nvidia');
    expect(found.gpus).toHaveLength(8);
    expect(ran).toEqual([
      'nvidia-smi --query-gpu=index,uuid,name,memory.total,memory.used,utilization.gpu,pci.bus_id --format=csv,noheader,nounits',
    ]);
  });

  it('falls back to rocm-smi when nvidia-smi is missing', async () => {
    const { run, ran } = machine({ 'rocm-smi': fixture('rocm-mi250-all.json') });
    const found = await discoverGpus({ run, platform: 'linux' });
    expect(found).toMatchObject({ source: 'rocm', gpus: [{ name: 'MI250' }] });
    expect(ran[1]).toBe('rocm-smi --showproductname --showmeminfo vram --json');
  });

  it('asks system_profiler and sysctl on macOS only', async () => {
    const outputs = { system_profiler: fixture('apple-m2max-displays.json'), sysctl: fixture('apple-m2max-memsize.txt') };
    const mac = machine(outputs);
    expect(await discoverGpus({ run: mac.run, platform: 'darwin' })).toMatchObject({ source: 'apple', gpus: [{ name: 'M2-Max', memoryMb: 24576 }] });
    expect(mac.ran.slice(2)).toEqual(['system_profiler SPDisplaysDataType -json', 'sysctl -n hw.memsize']);
    const linux = machine(outputs);
    expect(await discoverGpus({ run: linux.run, platform: 'linux' })).toEqual({ gpus: [], source: 'none' });
  });

  it('reports none when every tool is missing or lists nothing', async () => {
    const { run } = machine({ 'nvidia-smi': '', 'rocm-smi': '' });
    expect(await discoverGpus({ run, platform: 'linux' })).toEqual({ gpus: [], source: 'none' });
  });

  it('surfaces a tool that answers with something unreadable', async () => {
    const { run } = machine({ 'rocm-smi': 'Segmentation fault' });
    await expect(discoverGpus({ run, platform: 'linux' })).rejects.toBeInstanceOf(StintError);
  });

  it('surfaces a bad --gpus value', async () => {
    await expect(discoverGpus({ fake: 'A100:0' })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
  });
});

describe('runCommand', () => {
  it('returns stdout, and null for a missing tool or a failing command', async () => {
    expect(await runCommand('node', ['-e', 'process.stdout.write("hi")'])).toBe('hi');
    expect(await runCommand('stint-no-such-tool-xyz', [])).toBeNull();
    expect(await runCommand('node', ['-e', 'process.exit(3)'])).toBeNull();
  });
});

describe('detectHostResources', () => {
  it('reports this machine', () => {
    const host = detectHostResources();
    expect(Number.isInteger(host.cpus) && host.cpus >= 1).toBe(true);
    expect(host.memoryGb).toBeGreaterThan(0);
  });
});
