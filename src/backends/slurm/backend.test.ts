// The owner and script the backend reads from `scontrol show job -o` to check a submission's job id.
import { describe, expect, it } from 'vitest';
import { createSlurmBackend, scontrolJobs } from './backend.js';

const line = (id: number, user: string, command: string) =>
  `JobId=${id} JobName=stint-7.1-x UserId=${user} GroupId=g(5) JobState=RUNNING Reason=None ExitCode=0:0 NodeList=n1 ` +
  `Command=${command} WorkDir=/w/jobs/7 StdErr=/w/jobs/7/attempt-1/batch.out Power= `;

describe('scontrolJobs', () => {
  it('reads the uid of UserId=name(uid) and the batch script, next to the shared record', () => {
    const jobs = scontrolJobs(`${line(12, 'alice(1001)', '/w/jobs/7/attempt-1/job.sbatch')}\n${line(13, 'bob(1002)', '/w/x y/job.sbatch')}\n`);
    expect(jobs.map((j) => [j.record.jobId, j.record.name, j.record.workDir, j.uid, j.command])).toEqual([
      [12, 'stint-7.1-x', '/w/jobs/7', 1001, '/w/jobs/7/attempt-1/job.sbatch'],
      [13, 'stint-7.1-x', '/w/jobs/7', 1002, '/w/x y/job.sbatch'],
    ]);
  });

  it('gives no uid to a UserId without one, and skips what is not a job line', () => {
    const jobs = scontrolJobs(`slurm_load_jobs error: Invalid job id specified\n${line(14, 'alice', '/s')}`);
    expect(jobs.map((j) => [j.record.jobId, j.uid, j.command])).toEqual([[14, null, '/s']]);
  });
});

describe('what the backend declares from its configuration', () => {
  it('refuses image_id only when the cluster runs no containers, saying why', async () => {
    const none = await createSlurmBackend({ name: 'hpc', workdir: '/w', containers: 'none' });
    expect(none.unsupported.image).toMatch(/^backend hpc runs no containers: set by the backend's containers: none/);
    const oci = await createSlurmBackend({ name: 'hpc', workdir: '/w', containers: 'oci' });
    expect(oci.unsupported.image).toBeUndefined();
    expect(oci.containers.mode).toBe('oci');
  });

  it('over SSH: one service account unless submitAs: sudo on a root server', async () => {
    const ssh = { host: 'login', user: 'svc' };
    const service = await createSlurmBackend({ name: 'hpc', workdir: '/w', containers: 'none', ssh });
    expect(service.identity).toMatchObject({ perUser: false, why: expect.stringContaining('set submitAs: sudo') });
    const sudo = await createSlurmBackend({ name: 'hpc', workdir: '/w', containers: 'none', ssh, submitAs: 'sudo' });
    expect(sudo.identity).toEqual(process.getuid?.() === 0 ? { perUser: true } : { perUser: false, why: expect.stringContaining('the server is not root') });
  });
});
