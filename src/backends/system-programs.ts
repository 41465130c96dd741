// The system programs a privileged server runs, by absolute path, and the one PATH they run with.
// Must hold: none of them is ever found through a PATH (a job, its environment or an account's
// profile can change a PATH, not these root-owned files), and every command root runs on a job's
// behalf starts from `env -i PATH=PRIVILEGED_PATH`.

export const SYSTEM_PROGRAMS = {
  bash: '/bin/bash',
  env: '/usr/bin/env',
  setpriv: '/usr/bin/setpriv',
  unshare: '/usr/bin/unshare',
  mount: '/usr/bin/mount',
  find: '/usr/bin/find',
  chmod: '/usr/bin/chmod',
  tar: '/bin/tar',
  id: '/usr/bin/id',
} as const;

/** The PATH root runs helpers with: fixed, never the job's. */
export const PRIVILEGED_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';
