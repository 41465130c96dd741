// The login-like environment of an account: HOME, USER, LOGNAME, SHELL from the account entry and
// the PATH of /etc/login.defs (ENV_SUPATH for uid 0, ENV_PATH otherwise), with Debian's defaults.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_ROOT_PATH, DEFAULT_USER_PATH, loginEnvironment, loginPath } from './account-env.js';

const DEFS = [
  '# ENV_PATH PATH=/commented/out',
  'MAIL_DIR        /var/mail',
  'ENV_SUPATH\tPATH=/usr/local/sbin:/usr/sbin:/usr/bin',
  'ENV_PATH\tPATH=/usr/local/bin:/usr/bin',
  '',
].join('\n');

describe('loginPath', () => {
  it('takes ENV_PATH for an ordinary account and ENV_SUPATH for uid 0', () => {
    expect(loginPath(1000, DEFS)).toBe('/usr/local/bin:/usr/bin');
    expect(loginPath(0, DEFS)).toBe('/usr/local/sbin:/usr/sbin:/usr/bin');
  });

  it('accepts a value without the PATH= prefix, CRLF line ends and leading blanks', () => {
    expect(loginPath(1000, '  ENV_PATH /opt/bin:/usr/bin\r\n')).toBe('/opt/bin:/usr/bin');
  });

  it('lets a later definition replace an earlier one, as shadow does', () => {
    expect(loginPath(1000, 'ENV_PATH PATH=/first\nENV_PATH PATH=/second\n')).toBe('/second');
  });

  it("falls back to Debian's defaults when the key is missing, commented out or empty", () => {
    expect(loginPath(1000, '')).toBe(DEFAULT_USER_PATH);
    expect(loginPath(0, '# ENV_SUPATH PATH=/x\n')).toBe(DEFAULT_ROOT_PATH);
    expect(loginPath(1000, 'ENV_PATH PATH=\n')).toBe(DEFAULT_USER_PATH);
    expect(loginPath(1000, 'ENV_PATH_EXTRA /x\nXENV_PATH /y\n')).toBe(DEFAULT_USER_PATH);
  });
});

describe('loginEnvironment', () => {
  it("gives the account's HOME, USER, LOGNAME, SHELL and login PATH, nothing of the server's", () => {
    const env = loginEnvironment({ user: 'alice', uid: 1001, gid: 1001, home: '/home/alice', shell: '/bin/zsh' }, DEFS);
    expect(env).toEqual({ HOME: '/home/alice', USER: 'alice', LOGNAME: 'alice', SHELL: '/bin/zsh', PATH: '/usr/local/bin:/usr/bin' });
  });

  it('uses /bin/sh when the account names no shell, and ENV_SUPATH for root', () => {
    expect(loginEnvironment({ user: 'x', uid: 1002, gid: 1002, home: '/', shell: '' }, DEFS).SHELL).toBe('/bin/sh');
    expect(loginEnvironment({ user: 'x', uid: 1002, gid: 1002, home: '/' }, DEFS).SHELL).toBe('/bin/sh');
    expect(loginEnvironment({ user: 'root', uid: 0, gid: 0, home: '/root', shell: '/bin/bash' }, DEFS).PATH).toBe('/usr/local/sbin:/usr/sbin:/usr/bin');
  });

  it("reads this machine's /etc/login.defs when none is given", () => {
    const defs = (() => {
      try {
        return readFileSync('/etc/login.defs', 'utf8');
      } catch {
        return '';
      }
    })();
    const nobody = execFileSync('getent', ['passwd', 'nobody'], { encoding: 'utf8' }).trim().split(':');
    const env = loginEnvironment({ user: 'nobody', uid: Number(nobody[2]), gid: Number(nobody[3]), home: nobody[5]!, shell: nobody[6] });
    expect(env.PATH).toBe(loginPath(Number(nobody[2]), defs));
    expect(env.SHELL).toBe(nobody[6]);
  });
});
