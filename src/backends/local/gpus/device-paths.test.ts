// Device nodes of GPUs: the NVIDIA minor from the driver's information file (by PCI bus id), AMD
// render nodes, fake nodes in a test's directory.
import { describe, expect, it } from 'vitest';
import type { Gpu } from '../../../core/inventory.js';
import { driverBusId, nvidiaDeviceMinor, withDevicePaths } from './device-paths.js';

const gpu = (index: number): Gpu => ({ index, name: 'A100', model: 'NVIDIA A100', memoryMb: 81920, vendor: 'nvidia', healthy: true });
const INFORMATION = 'Model: \t\t NVIDIA A100-SXM4-80GB\nIRQ:   \t\t 180\nGPU UUID: \t GPU-aaaa\nVideo BIOS: \t 92.00.36.00.01\nBus Type: \t PCIe\nDMA Size: \t 47 bits\nDMA Mask: \t 0x7fffffffffff\nBus Location: \t 0000:3b:00.0\nDevice Minor: \t 3\nGPU Excluded:\t No\n';

describe('GPU device paths', () => {
  it('reads the NVIDIA device minor of the driver, by bus id, else the index', () => {
    expect(nvidiaDeviceMinor(INFORMATION)).toBe(3);
    expect(driverBusId('00000000:3B:00.0')).toBe('0000:3b:00.0');
    const read = (path: string) => (path === '/proc/driver/nvidia/gpus/0000:3b:00.0/information' ? INFORMATION : null);
    const busIds = new Map([[0, '00000000:3B:00.0'], [1, '00000000:5E:00.0']]);
    expect(withDevicePaths([gpu(0), gpu(1)], 'nvidia', { busIds, read }).map((g) => g.devicePath)).toEqual(['/dev/nvidia3', '/dev/nvidia1']);
  });

  it('names AMD render nodes and fake nodes; none for Apple or fake GPUs without a directory', () => {
    expect(withDevicePaths([gpu(0), gpu(1)], 'rocm', {}).map((g) => g.devicePath)).toEqual(['/dev/dri/renderD128', '/dev/dri/renderD129']);
    expect(withDevicePaths([gpu(0)], 'fake', { fakeDir: '/var/tmp/dev/' })[0]!.devicePath).toBe('/var/tmp/dev/nvidia0');
    expect(withDevicePaths([gpu(0)], 'fake', {})[0]).not.toHaveProperty('devicePath');
    expect(withDevicePaths([gpu(0)], 'apple', {})[0]).not.toHaveProperty('devicePath');
  });
});
