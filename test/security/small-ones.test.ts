// The small findings, each attacked through a real `bin/stint` process where one is involved
// (needs `npx tsc -p tsconfig.build.json`): the metrics token must not be on the command line
// (L10/#85), revoking the last admin token must not lock the lab out without --force, `stint
// queue` must show every active job past 1,000 (M10/#105), and the web log view must not show
// OSC, DCS and other non-CSI escape sequences raw (L15/#37).

import { execFile } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StintClient } from '../../src/api/client.js';
import { StintError } from '../../src/core/errors.js';
import { parseAnsi, stripAnsi } from '../../web/src/ansi.js';
import { serverProcess, STINT_BIN, tempHome, waitForJob, type ServerProcess } from '../helpers/server.js';

const run = promisify(execFile);
const servers: ServerProcess[] = [];
afterAll(() => {
  for (const s of servers) if (s.child.exitCode === null) s.child.kill('SIGTERM');
});

async function start(args: string[], home?: string): Promise<ServerProcess & { token: string }> {
  const where = home ?? (await tempHome());
  const s = await serverProcess(where, args);
  servers.push(s);
  return { ...s, token: readFileSync(join(where, 'token'), 'utf8').trim() };
}

/** Runs `bin/stint ARGS` against a server; never throws (the exit code is in `code`). */
async function stint(url: string, token: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, STINT_URL: url, STINT_TOKEN: token, NO_COLOR: '1' };
  return run(process.execPath, [STINT_BIN, ...args], { env, maxBuffer: 64 * 1024 * 1024 }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }),
  );
}

describe('the metrics token', () => {
  it('is read from a file and never appears in the server\'s command line', async () => {
    const home = await tempHome();
    const file = join(home, 'metrics-token');
    writeFileSync(file, 'scrape-secret-4f2a\n');
    chmodSync(file, 0o600);
    const srv = await start(['--metrics-token-file', file], home);
    expect((await fetch(`${srv.url}/metrics`)).status).toBe(401);
    const ok = await fetch(`${srv.url}/metrics`, { headers: { authorization: 'Bearer scrape-secret-4f2a' } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('stint_');
    const cmdline = readFileSync(`/proc/${srv.child.pid}/cmdline`, 'utf8');
    expect(cmdline).toContain('--metrics-token-file');
    expect(cmdline).not.toContain('scrape-secret-4f2a');
  }, 60_000);

  it('limits wrong guesses per address like bad API tokens: 429 after 20, and the right token is then refused too until the window ends', async () => {
    const home = await tempHome();
    const file = join(home, 'metrics-token');
    writeFileSync(file, 'scrape-secret-7b1c\n');
    chmodSync(file, 0o600);
    const srv = await start(['--metrics-token-file', file], home);
    const statuses: number[] = [];
    for (let i = 0; i < 22; i++) statuses.push((await fetch(`${srv.url}/metrics`, { headers: { authorization: `Bearer guess-${i}` } })).status);
    expect(statuses.slice(0, 20)).toEqual(Array(20).fill(401));
    expect(statuses.slice(20)).toEqual([429, 429]);
    const limited = await fetch(`${srv.url}/metrics`, { headers: { authorization: 'Bearer scrape-secret-7b1c' } });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
  }, 60_000);

  it('is refused on the command line, with what to use instead', async () => {
    const result = await run(process.execPath, [STINT_BIN, 'server', '--home', await tempHome(), '--port', '0', '--metrics-token', 'visible-in-ps'], { timeout: 20_000 }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('--metrics-token-file');
    expect(result.stderr).toContain('ps');
  }, 30_000);

  it('refuses a token file every local user can read', async () => {
    const home = await tempHome();
    const file = join(home, 'metrics-token');
    writeFileSync(file, 'x\n');
    chmodSync(file, 0o644);
    const result = await run(process.execPath, [STINT_BIN, 'server', '--home', home, '--port', '0', '--metrics-token-file', file], { timeout: 20_000 }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/readable by every local user; chmod 600/);
  }, 30_000);
});

describe('revoking the last admin token', () => {
  let srv: ServerProcess & { token: string };
  beforeAll(async () => {
    srv = await start(['--gpus', 'A100:1']);
  }, 60_000);

  it('is refused without --force, by the API and the CLI, and the token keeps working', async () => {
    const [own] = (await srv.client.listTokens()).tokens;
    const error = await srv.client.revokeToken(own!.id).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(StintError);
    expect((error as StintError).code).toBe('CONFLICT');
    expect((error as StintError).message).toMatch(/last active admin token.*--force/s);
    const cli = await stint(srv.url, srv.token, ['admin', 'token', 'revoke', String(own!.id)]);
    expect(cli.code).not.toBe(0);
    expect(cli.stderr).toContain('--force');
    expect((await srv.client.me()).role).toBe('admin');
  }, 30_000);

  it('is allowed when another admin still holds a token, and with --force otherwise', async () => {
    const second = await srv.client.addUser('adm2', 'admin');
    const asSecond = new StintClient(srv.url, second.token);
    const [own] = (await srv.client.listTokens()).tokens;
    expect((await srv.client.revokeToken(own!.id)).tokenInfo.revokedAt).not.toBeNull();
    const [secondToken] = (await asSecond.listTokens()).tokens;
    const refused = await stint(srv.url, second.token, ['admin', 'token', 'revoke', String(secondToken!.id)]);
    expect(refused.code).not.toBe(0);
    const forced = await stint(srv.url, second.token, ['admin', 'token', 'revoke', String(secondToken!.id), '--force']);
    expect(forced.stderr).toBe('');
    expect(forced.stdout).toContain(`revoked token ${secondToken!.id}`);
    expect(await asSecond.me().then(() => 'accepted', (e: StintError) => e.code)).toBe('UNAUTHORIZED');
  }, 30_000);
});

describe('stint queue', () => {
  it('shows every active job when there are more than 1,000', async () => {
    const srv = await start(['--gpus', 'A100:1']);
    const holder = (await srv.client.submit({ task: 'name: holder\nresources: {accelerators: A100:1}\nrun: sleep 600\n' })).id!;
    await waitForJob(srv.client, holder, (j) => j.state === 'RUNNING');
    const ids: number[] = [];
    for (let batch = 0; batch < 55; batch++) {
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => srv.client.submit({ task: `name: wait-${batch * 20 + i}\nresources: {accelerators: A100:1}\nrun: exit 0\n` })));
      ids.push(...answers.map((a) => a.id!));
    }
    const token = srv.token;
    const table = await stint(srv.url, token, ['queue']);
    expect(table.code).toBe(0);
    const rows = table.stdout.split('\n').filter((line) => /^\d+\s/.test(line)).map((line) => Number(line.split(/\s+/)[0]));
    expect(rows).toEqual([holder, ...ids].sort((a, b) => a - b));
    const json = await stint(srv.url, token, ['queue', '--json']);
    expect((JSON.parse(json.stdout) as unknown[]).length).toBe(1 + ids.length);
  }, 300_000);
});

describe('the web log view\'s escape parser', () => {
  const ESC = '\x1b';
  const text = (line: string) => parseAnsi(line).map((s) => s.text).join('');

  it('strips OSC hyperlinks and titles, DCS, SOS, PM, APC strings and two-character escapes', () => {
    const cases: Array<[string, string]> = [
      [`${ESC}]8;;javascript:alert(1)${ESC}\\click here${ESC}]8;;${ESC}\\ done`, 'click here done'],
      [`${ESC}]0;evil title\x07after`, 'after'],
      [`${ESC}]2;unterminated title`, ''],
      [`a${ESC}Pq#0;2;0;0;0#0~~${ESC}\\b`, 'ab'],
      [`a${ESC}Xsos${ESC}\\b${ESC}^pm${ESC}\\c${ESC}_Gapc${ESC}\\d`, 'abcd'],
      [`${ESC}c${ESC}7x${ESC}8${ESC}(B${ESC}=y${ESC}Mz`, 'xyz'],
      [`\x9b31mc1 csi\x9d0;title\x9cok`, 'c1 csiok'],
    ];
    for (const [line, shown] of cases) {
      expect(text(line), JSON.stringify(line)).toBe(shown);
      expect(stripAnsi(line), JSON.stringify(line)).toBe(shown);
    }
  });

  it('still renders SGR colours around stripped sequences', () => {
    const segments = parseAnsi(`${ESC}]0;t\x07${ESC}[32mgreen${ESC}[0m plain ${ESC}[1;31mred${ESC}[0m`);
    expect(segments).toEqual([{ text: 'green', classes: 'fg-2' }, { text: ' plain ', classes: '' }, { text: 'red', classes: 'fg-1 b' }]);
  });
});
