// Container detection from the probe's output, and how each image_id form maps per mode.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type ContainerSupport, containerLaunch, detectContainers, enrootRef, imageRefusal } from './containers.js';

const MARK = '::stint-probe::';
// Real `srun --help` of Slurm 22.05.8 on the test cluster (no plugins): it has --container but no --container-image.
const help2205 = readFileSync(new URL('../../../test/fixtures/slurm/22.05/srun-help.txt', import.meta.url), 'utf8');
const grepped = (help: string) => help.split('\n').filter((l) => l.includes('--container')).join('\n');
// A pyxis option line in the shape pyxis' SPANK options print under srun --help (constructed).
const pyxisLine = '      --container-image=[USER@][REGISTRY#]IMAGE[:TAG]|PATH\n                              [pyxis] image for the container';
const probe = (help: string, oci: string, apptainer: string) => `${grepped(help)}\n${MARK}\n${oci}\n${MARK}\n${apptainer}\n`;
const support = (mode: ContainerSupport['mode']): ContainerSupport => ({ mode, how: 'test', apptainer: '/usr/bin/apptainer' });

describe('detectContainers', () => {
  it('prefers pyxis, then an oci.conf beside slurm.conf, then apptainer; none names what it looked for', () => {
    expect(detectContainers(probe(`${help2205}\n${pyxisLine}`, '/etc/slurm/oci.conf', '/usr/bin/apptainer'), 'auto').mode).toBe('pyxis');
    const oci = detectContainers(probe(help2205, '/etc/slurm/oci.conf', '/usr/bin/apptainer'), 'auto');
    expect(oci).toMatchObject({ mode: 'oci', how: expect.stringContaining('/etc/slurm/oci.conf') });
    expect(detectContainers(probe(help2205, '', '/opt/apptainer/bin/apptainer'), 'auto')).toMatchObject({ mode: 'apptainer', apptainer: '/opt/apptainer/bin/apptainer' });
    const none = detectContainers(probe(help2205, '', ''), 'auto');
    expect(none.mode).toBe('none');
    expect(imageRefusal(none, 'hpc')).toMatch(/^backend hpc runs no containers: srun has no --container-image .*containers: pyxis\|oci\|apptainer/);
    expect(imageRefusal(oci, 'hpc')).toBeNull();
  });

  it('lets the configuration override, and treats a failed probe as none with the reason', () => {
    expect(detectContainers(probe(help2205, '', ''), 'oci')).toMatchObject({ mode: 'oci', how: expect.stringContaining('containers: oci') });
    expect(detectContainers(null, 'auto')).toMatchObject({ mode: 'none', how: expect.stringContaining('probe') });
  });
});

describe('containerLaunch', () => {
  it('pyxis: docker refs in enroot spelling, squashfs paths as they are, the job folder mounted', () => {
    expect(enrootRef('nvcr.io/nvidia/pytorch:23.10-py3')).toBe('nvcr.io#nvidia/pytorch:23.10-py3');
    expect(enrootRef('localhost:5000/lab/img')).toBe('localhost:5000#lab/img');
    expect(enrootRef('python:3.11')).toBe('python:3.11');
    expect(enrootRef('lab/train:v2')).toBe('lab/train:v2');
    expect(containerLaunch('docker:nvcr.io/nvidia/pytorch:23.10-py3', support('pyxis'), '/w/jobs/1', 1)).toEqual({
      srunOptions: ['--container-image=nvcr.io#nvidia/pytorch:23.10-py3', '--container-mounts=/w/jobs/1:/w/jobs/1'], prefix: [],
    });
    expect(containerLaunch('/shared/img/x.sqsh', support('pyxis'), '/w/jobs/1', 0).srunOptions[0]).toBe('--container-image=/shared/img/x.sqsh');
    expect(() => containerLaunch('oci:/shared/b', support('pyxis'), '/w/jobs/1', 0)).toThrow(/resources.image_id: "oci:\/shared\/b" cannot run here: this cluster runs containers with pyxis .*give docker:<ref>/);
  });

  it('native OCI: oci:<bundle> becomes --container; registry images are refused with the form to use', () => {
    expect(containerLaunch('oci:/shared/bundles/py/', support('oci'), '/w/jobs/1', 0)).toEqual({ srunOptions: ['--container=/shared/bundles/py'], prefix: [] });
    expect(() => containerLaunch('docker:python:3.11', support('oci'), '/w/jobs/1', 0)).toThrow(/runs OCI bundles .*give oci:\/shared\/bundles\/<name>/);
    expect(() => containerLaunch('stint:py', support('oci'), '/w/jobs/1', 0)).toThrow(/runs OCI bundles/);
    expect(() => containerLaunch('oci:relative', support('oci'), '/w/jobs/1', 0)).toThrow(/not an absolute bundle path/);
    expect(() => containerLaunch('oci:/a b', support('oci'), '/w/jobs/1', 0)).toThrow(/not an absolute bundle path/);
  });

  it('apptainer: docker:// refs and .sif paths, --nv only with GPUs, the job folder bound', () => {
    expect(containerLaunch('docker:python:3.11', support('apptainer'), '/w/jobs/1', 2)).toEqual({
      srunOptions: [], prefix: ['/usr/bin/apptainer', 'exec', '--nv', '--bind', '/w/jobs/1:/w/jobs/1', 'docker://python:3.11'],
    });
    expect(containerLaunch('/shared/img/x.sif', support('apptainer'), '/w/jobs/1', 0).prefix).toEqual(['/usr/bin/apptainer', 'exec', '--bind', '/w/jobs/1:/w/jobs/1', '/shared/img/x.sif']);
    expect(() => containerLaunch('oci:/x', support('apptainer'), '/w/jobs/1', 0)).toThrow(/apptainer.*give docker:<ref>/);
    expect(() => containerLaunch('docker:x --privileged', support('apptainer'), '/w/jobs/1', 0)).toThrow(/not a valid image reference/);
  });

  it('none: refused with what was looked for', () => {
    expect(() => containerLaunch('docker:python:3.11', { mode: 'none', how: 'no pyxis, no oci.conf, no apptainer', apptainer: 'apptainer' }, '/w', 0))
      .toThrow(/cannot run: no pyxis, no oci.conf, no apptainer/);
  });
});
