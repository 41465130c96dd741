// Golden files pin the launcher's bash (golden/launcher.sh) and one launch plan per mode
// (golden/launch-*.sh); run with STINT_UPDATE_GOLDEN=1 to rewrite them after an intended change,
// then review the diff. The checks below state what the privileged part must never do, whatever
// the text becomes.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { JOB_SHELL, LAUNCHER, type LaunchPlan, launchLine, launchPlanText, launcherArgs, NAMESPACE_SETUP, planCommand, shellQuote } from './launcher-script.js';

function golden(name: string, text: string): void {
  const path = new URL(`./golden/${name}`, import.meta.url);
  if (process.env.STINT_UPDATE_GOLDEN === '1' || !existsSync(path)) writeFileSync(path, text);
  expect(text).toBe(readFileSync(path, 'utf8'));
}

/** The root subshell of an attempt: everything between the fork and the report of its exit. */
const privileged = LAUNCHER.slice(LAUNCHER.indexOf('    (\n'), LAUNCHER.indexOf('    pid=$!'));

const procs = ['/sys/fs/cgroup/memory/stint/0123456789ab/job-4-1/cgroup.procs', '/sys/fs/cgroup/pids/stint/0123456789ab/job-4-1/cgroup.procs'];
const PLANS: Record<string, LaunchPlan> = {
  'launch-dropped.sh': {
    runAs: { uid: 1000, gid: 1000 }, cgroupProcs: procs,
    binds: [{ source: '/dev/null', target: '/dev/nvidia0' }, { source: "/var/lib/stint/jobs/4/attempt-1/tmp", target: '/tmp' }],
  },
  'launch-own-account.sh': { runAs: null, cgroupProcs: procs, binds: [{ source: '/var/lib/stint/jobs/4/attempt-1/tmp', target: '/tmp' }] },
  'launch-unconfined.sh': { runAs: null, cgroupProcs: [], binds: null },
  'launch-container.sh': { runAs: null, cgroupProcs: [], binds: null, containerArgv: ['/usr/bin/podman', 'run', '--rm', '--name', "stint-local-4-1", 'docker.io/library/debian:12', '/bin/bash', '-c', "it's quoted"] },
};

describe('local launcher script', () => {
  it('matches the golden files', () => {
    golden('launcher.sh', `# LAUNCHER ($0 = bash, $1 = JOB_SHELL)\n${LAUNCHER}\n# JOB_SHELL\n${JOB_SHELL}\n# NAMESPACE_SETUP\n${NAMESPACE_SETUP}\n`);
    for (const [name, plan] of Object.entries(PLANS)) golden(name, launchPlanText(plan));
  });

  it('is valid bash, and so is every plan', () => {
    execFileSync('bash', ['-n', '-c', LAUNCHER]);
    execFileSync('bash', ['-n', '-c', JOB_SHELL]);
    execFileSync('bash', ['-n', '-c', NAMESPACE_SETUP]);
    for (const plan of Object.values(PLANS)) execFileSync('bash', ['-n', '-c', launchPlanText(plan)]);
    expect(launcherArgs().slice(-2)).toEqual(['bash', JOB_SHELL]);
  });

  it('gives back exactly the argv of each plan when bash reads it', () => {
    for (const plan of Object.values(PLANS)) {
      const out = execFileSync('bash', ['--norc', '--noprofile', '-c', `${launchPlanText(plan)}\nprintf '%s\\0' "\${__stint_command[@]}"`]);
      expect(out.toString().split('\0').slice(0, -1)).toEqual(planCommand(plan));
    }
  });

  it('never reads the job environment, scripts or workdir as root, and finds helpers by absolute path only', () => {
    const dropped = planCommand(PLANS['launch-dropped.sh']!);
    expect(dropped.slice(0, 5)).toEqual(['/usr/bin/unshare', '--mount', '--propagation', 'private', '--']);
    expect(dropped.join(' ')).toContain('-- /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin /usr/bin/setpriv --reuid=1000 --regid=1000 --init-groups -- /bin/bash --norc --noprofile -c');
    expect(planCommand(PLANS['launch-unconfined.sh']!)).toEqual(['/usr/bin/env', '-i', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin', '/bin/bash', '--norc', '--noprofile', '-c']);
    // Its evals close a descriptor by number and load the root-owned plan from fd 6; nothing else is evaluated, sourced or entered.
    expect(privileged.replace('eval "exec $fd>&-"', '').replace('eval "$__stint_plan"', '')).not.toMatch(/(^|\s)(\.|source|eval)\s|cd |STINT_/m);
    expect(privileged).toMatch(/\) 9>&-/);
    expect(LAUNCHER).toContain('6<"$dir/launch.sh"');
    // The job's shell joins its cgroups in the forked child, before it execs; the recorder never does.
    expect(privileged.indexOf('echo "$BASHPID" >"$f"')).toBeLessThan(privileged.indexOf('exec "${__stint_command[@]}"'));
    expect(privileged.indexOf('echo "$BASHPID" >"$f"')).toBeGreaterThan(privileged.lastIndexOf('      (\n'));
  });

  it('refuses plans it could not pass safely', () => {
    expect(() => planCommand({ runAs: null, cgroupProcs: [], binds: [{ source: 'relative', target: '/tmp' }] })).toThrow(/absolute/);
    expect(() => planCommand({ runAs: null, cgroupProcs: [], binds: [{ source: '--', target: '/tmp' }] })).toThrow(/absolute/);
    expect(() => planCommand({ runAs: null, cgroupProcs: [], binds: null, containerArgv: ['podman', 'run'] })).toThrow(/absolute path/);
    expect(() => shellQuote('a\0b')).toThrow(/NUL/);
  });

  it('hands attempts over one line each, refusing a directory with a line break', () => {
    expect(launchLine('/h/jobs/1/attempt-1')).toBe('/h/jobs/1/attempt-1\n');
    expect(launchLine('/h/my jobs/1/attempt-1')).toBe('/h/my jobs/1/attempt-1\n');
    expect(() => launchLine('/h/x\n/attempt-1')).toThrow(/line break/);
  });
});
