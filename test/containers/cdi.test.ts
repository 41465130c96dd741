// The CDI spec stint writes from its inventory, and the choice of NVIDIA's own spec when the
// host has one (nvidia-ctk cdi generate). Real files in temporary directories.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildCdiSpec, prepareCdi, stintKind, stintSpecName } from '../../src/containers/cdi.js';

describe('CDI spec', () => {
  it('names each NVIDIA GPU with a node by its index, with the shared control nodes', () => {
    const nodes = new Set(['/dev/nvidia0', '/fake/nvidia1', '/dev/nvidiactl']);
    const spec = buildCdiSpec([
      { index: 0, vendor: 'nvidia' }, { index: 1, vendor: 'fake', devicePath: '/fake/nvidia1' },
      { index: 2, vendor: 'nvidia' }, { index: 3, vendor: 'amd' },
    ], (p) => nodes.has(p), 'stint.local/gpu-abc');
    expect(spec).toEqual({
      cdiVersion: '0.5.0', kind: 'stint.local/gpu-abc',
      devices: [
        { name: '0', containerEdits: { deviceNodes: [{ path: '/dev/nvidia0' }] } },
        { name: '1', containerEdits: { deviceNodes: [{ path: '/dev/nvidia1', hostPath: '/fake/nvidia1' }] } },
      ],
      containerEdits: { deviceNodes: [{ path: '/dev/nvidiactl' }] },
    });
  });

  it("writes stint's spec under a name and kind of its home, and gives no name to a GPU without a node", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stint-cdi-'));
    const devices = prepareCdi({ home: '/srv/stint', gpus: [{ index: 0, vendor: 'fake', devicePath: '/dev/null' }, { index: 1, vendor: 'fake', devicePath: '/nonexistent' }], dir, searchDirs: [dir] });
    expect(devices.source).toEqual({ kind: 'stint', file: join(dir, stintSpecName('/srv/stint')) });
    expect([devices.deviceFor(0), devices.deviceFor(1)]).toEqual([`${stintKind('/srv/stint')}=0`, null]);
    expect(stintKind('/srv/stint')).not.toBe(stintKind('/srv/stint2'));
    expect(JSON.parse(readFileSync(join(dir, stintSpecName('/srv/stint')), 'utf8')).devices).toHaveLength(1);
    // Written again at the next start; with no GPU node left, the old spec goes.
    expect(prepareCdi({ home: '/srv/stint', gpus: [], dir, searchDirs: [dir] }).source).toEqual({ kind: 'none' });
    expect(existsSync(join(dir, stintSpecName('/srv/stint')))).toBe(false);
  });

  it("prefers NVIDIA's generated spec and its names, writing nothing", async () => {
    const etc = await mkdtemp(join(tmpdir(), 'stint-cdi-etc-'));
    const run = join(etc, 'run');
    mkdirSync(run);
    writeFileSync(join(etc, 'nvidia.yaml'), 'cdiVersion: 0.5.0\nkind: nvidia.com/gpu\ndevices:\n- name: "0"\n  containerEdits: {deviceNodes: [{path: /dev/nvidia0}]}\n- name: all\n  containerEdits: {}\n');
    const devices = prepareCdi({ home: '/srv/stint', gpus: [{ index: 0, vendor: 'nvidia' }, { index: 1, vendor: 'nvidia' }], dir: run, searchDirs: [etc] });
    expect(devices.source).toEqual({ kind: 'nvidia', file: join(etc, 'nvidia.yaml') });
    expect([devices.deviceFor(0), devices.deviceFor(1)]).toEqual(['nvidia.com/gpu=0', null]);
  });
});
