// A runc bundle for the test Slurm's native OCI support (start-local-slurm.sh writes an oci.conf
// for runc): busybox-static plus bash and its libraries, a marker file only this rootfs has, and
// `runc spec --rootless` adjusted: no terminal, the container's uid 0 mapped to the job's uid (runc
// 1.1 needs uid 0 mapped; rootless, the only host uid is the job's own), and the cluster's shared
// folder bound at its own path so the per-node wrapper finds the job's files inside.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { RunAs } from '../../src/backends/backend.js';
import { CLUSTER_DIR } from './cluster.js';

export const SHARED = join(CLUSTER_DIR, 'shared');

/** Makes the bundle on the shared filesystem; `marker` goes into the rootfs' /etc/os-release. */
export function makeBundle(owner: Pick<RunAs, 'uid' | 'gid'>, marker: string): string {
  const bundle = join(SHARED, `bundle-${owner.uid}-${marker}`);
  const rootfs = join(bundle, 'rootfs');
  for (const d of ['bin', 'etc', 'tmp', 'proc', 'dev', 'sys', SHARED.slice(1)]) mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync('/bin/busybox', join(rootfs, 'bin/busybox'));
  for (const tool of ['sh', 'cat', 'id', 'dirname', 'mkdir', 'ls', 'echo', 'env']) symlinkSync('busybox', join(rootfs, 'bin', tool));
  // bash and what it links (the per-node wrapper is a bash script).
  const libs = execFileSync('ldd', ['/bin/bash'], { encoding: 'utf8' }).match(/\/\S+/g) ?? [];
  for (const file of ['/bin/bash', ...libs]) {
    mkdirSync(join(rootfs, dirname(file)), { recursive: true });
    copyFileSync(file, join(rootfs, file));
    chmodSync(join(rootfs, file), 0o755);
  }
  writeFileSync(join(rootfs, 'etc/os-release'), `NAME="${marker}"\n`);
  execFileSync('runc', ['spec', '--rootless'], { cwd: bundle });
  const config = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
  config.process.terminal = false;
  config.root = { path: 'rootfs', readonly: false };
  config.linux.uidMappings = [{ containerID: 0, hostID: owner.uid, size: 1 }];
  config.linux.gidMappings = [{ containerID: 0, hostID: owner.gid, size: 1 }];
  config.mounts.push({ destination: SHARED, type: 'bind', source: SHARED, options: ['rbind', 'rw'] });
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(config, null, 1));
  execFileSync('chmod', ['-R', 'a+rX', bundle]);
  return bundle;
}
