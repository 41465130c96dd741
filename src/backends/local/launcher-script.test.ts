// A golden file pins the launcher's bash (src/backends/local/golden/launcher.sh); run with
// STINT_UPDATE_GOLDEN=1 to rewrite it after an intended change, then review the diff. The checks
// below state what the privileged part must never do, whatever the text becomes.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { JOB_SHELL, LAUNCHER, launchLine, launcherArgs } from './launcher-script.js';

function golden(name: string, text: string): void {
  const path = new URL(`./golden/${name}`, import.meta.url);
  if (process.env.STINT_UPDATE_GOLDEN === '1' || !existsSync(path)) writeFileSync(path, text);
  expect(text).toBe(readFileSync(path, 'utf8'));
}

/** The part of the launcher that runs as root for a job dropped to another account. */
const privileged = LAUNCHER.slice(LAUNCHER.indexOf('    else\n'), LAUNCHER.indexOf('    fi\n    pid=$!'));

describe('local launcher script', () => {
  it('matches the golden files', () => {
    golden('launcher.sh', `# LAUNCHER ($0 = bash, $1 = JOB_SHELL)\n${LAUNCHER}\n# JOB_SHELL\n${JOB_SHELL}`);
  });

  it('is valid bash', () => {
    execFileSync('bash', ['-n', '-c', LAUNCHER]);
    execFileSync('bash', ['-n', '-c', JOB_SHELL]);
    expect(launcherArgs().slice(-2)).toEqual(['bash', JOB_SHELL]);
  });

  it('never reads the job environment, scripts or workdir as root, and finds helpers by absolute path only', () => {
    expect(privileged).toContain('/usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin /usr/bin/setpriv');
    expect(privileged).toContain('-- /bin/bash --norc --noprofile -c');
    // Its one eval closes a descriptor by number; nothing else is evaluated, sourced or entered.
    expect(privileged.replace('eval "exec $fd>&-"', '')).not.toMatch(/(^|\s)(\.|source|eval)\s|cd |STINT_/m);
    expect(privileged).toMatch(/9>&-/);
  });

  it('hands attempts over one line each, refusing a directory with a line break', () => {
    expect(launchLine('/h/jobs/1/attempt-1', { uid: 33, gid: 34 })).toBe('33 34 /h/jobs/1/attempt-1\n');
    expect(launchLine('/h/my jobs/1/attempt-1', null)).toBe('- - /h/my jobs/1/attempt-1\n');
    expect(() => launchLine('/h/x\n/attempt-1', null)).toThrow(/line break/);
  });
});
