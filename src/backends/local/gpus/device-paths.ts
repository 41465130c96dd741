// The device node of each GPU, so a job can be kept from opening the GPUs it does not hold.
// NVIDIA: /dev/nvidia<minor>, the minor from /proc/driver/nvidia/gpus/<pci bus id>/information
// ("Device Minor"), else the index; AMD: /dev/dri/renderD<128+index>; fake GPUs: <dir>/nvidia<index>
// when a directory of fake nodes is given (a test makes them with mknod). Apple: none (the GPU is
// not a device node). Pure apart from the reader passed in.

import type { Gpu } from '../../../core/inventory.js';
import type { GpuSource } from './discover.js';

/** "Device Minor: 3" in the driver's information file → 3; null when absent. */
export function nvidiaDeviceMinor(information: string): number | null {
  const match = /^Device Minor:\s*(\d+)\s*$/m.exec(information);
  return match ? Number(match[1]) : null;
}

/** nvidia-smi's bus id `00000000:3B:00.0` → the driver's directory name `0000:3b:00.0`. */
export function driverBusId(busId: string): string {
  const match = /^(?:[0-9a-f]{4})?([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-9a-f])$/i.exec(busId.trim());
  return (match ? match[1]! : busId.trim()).toLowerCase();
}

export interface DevicePathSources {
  /** `--fake-gpu-devices DIR`. */
  fakeDir?: string;
  /** PCI bus ids by GPU index (nvidia-smi's pci.bus_id). */
  busIds?: ReadonlyMap<number, string>;
  /** Reads a root-owned driver file; null when missing. */
  read?: (path: string) => string | null;
}

export function withDevicePaths(gpus: Gpu[], source: GpuSource, sources: DevicePathSources): Gpu[] {
  return gpus.map((gpu) => {
    const path = devicePath(gpu, source, sources);
    return path === null ? gpu : { ...gpu, devicePath: path };
  });
}

function devicePath(gpu: Gpu, source: GpuSource, sources: DevicePathSources): string | null {
  switch (source) {
    case 'fake':
      return sources.fakeDir === undefined ? null : `${sources.fakeDir.replace(/\/+$/, '')}/nvidia${gpu.index}`;
    case 'nvidia': {
      const busId = sources.busIds?.get(gpu.index);
      const info = busId === undefined ? null : (sources.read?.(`/proc/driver/nvidia/gpus/${driverBusId(busId)}/information`) ?? null);
      const minor = info === null ? null : nvidiaDeviceMinor(info);
      return `/dev/nvidia${minor ?? gpu.index}`;
    }
    case 'rocm':
      return `/dev/dri/renderD${128 + gpu.index}`;
    case 'apple':
    case 'none':
      return null;
  }
}
