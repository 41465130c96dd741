// The Slurm backend's configuration: defaults, and errors that name the field.
import { describe, expect, it } from 'vitest';
import { StintError } from '../../core/errors.js';
import { parseSlurmConfig } from './config.js';

describe('Slurm backend config', () => {
  it('accepts the documented example and fills defaults', () => {
    const config = parseSlurmConfig({
      name: 'hpc', type: 'slurm', partition: 'gpu', workdir: '/shared/stint',
      ssh: { host: 'login1', user: 'stint', key: '~/.ssh/id_ed25519' },
      projects: { vision: { account: 'vision-lab', qos: 'high' } },
    });
    expect(config).toMatchObject({ name: 'hpc', partition: 'gpu', commandTimeoutSeconds: 30, finishedJobs: 'sacct', warnSeconds: 60 });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it.each([
    [{ name: 'hpc' }, 'backends[1].workdir'],
    [{ name: 'hpc', workdir: 'relative/dir' }, 'backends[1].workdir'],
    [{ name: 'hpc', workdir: '/x', ssh: { host: 'login1', port: 70000 } }, 'backends[1].ssh.port'],
    [{ name: 'hpc', workdir: '/x', partition: 'gpu; rm -rf /' }, 'backends[1].partition'],
    [{ name: 'hpc', workdir: '/x', projects: { p: { account: 'a b' } } }, 'backends[1].projects.p.account'],
    [{ name: 'hpc', workdir: '/x', finishedJobs: 'slurmdbd' }, 'backends[1].finishedJobs'],
    [{ name: 'hpc', workdir: '/x', colour: 'blue' }, 'backends[1]'],
  ])('refuses %j naming %s', (raw, field) => {
    let error: unknown;
    try {
      parseSlurmConfig(raw, 'backends[1]');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StintError);
    expect((error as StintError).message).toContain(`${field}`);
    expect((error as StintError).details.issues).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
  });
});
