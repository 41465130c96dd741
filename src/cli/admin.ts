// `stint admin ...`: users, tokens, projects and the audit log, over the REST API with the
// caller's token (STINT_TOKEN, else $STINT_HOME/token). A new token is printed once, by the
// command that creates it; nothing else ever prints one. The server decides who may do what.

import type { Command } from 'commander';
import type { AuditEntryView, ProjectView, TokenView, UserView } from '../api/admin-schemas.js';
import { connect, type StintClient } from '../api/client.js';
import { clientConfig } from '../config.js';
import { StintError } from '../core/errors.js';
import { relativeTime, table, type Style } from './format.js';

export function registerAdmin(program: Command): void {
  const admin = program.command('admin').description('users, API tokens, projects and the audit log');
  registerUsers(admin.command('user').description('add, list and remove users (admins)'));
  registerTokens(admin.command('token').description('create, list and revoke API tokens'));
  registerProjects(admin.command('project').description('add and list projects, manage their members'));
  admin
    .command('audit')
    .description('the audit log, newest first (admins)')
    .option('--limit <n>', 'how many entries', '50')
    .option('--json', 'print the entries as a JSON array')
    .action(async (flags: { limit: string; json?: boolean }) => {
      const { client, style } = session();
      const { entries } = await client.audit({ limit: parseCount(flags.limit) });
      print(flags.json, entries, () => renderAudit(entries, Date.now(), style));
    });
  admin
    .command('whoami')
    .description('the user the token belongs to, its role and projects')
    .option('--json', 'print as JSON')
    .action(async (flags: { json?: boolean }) => {
      const me = await session().client.me();
      const projects = me.projects.map((p) => `${p.project} (${p.role})`).join(', ') || 'none';
      print(flags.json, me, () => `${me.name} (${me.role}); projects: ${projects}`);
    });
}

function registerUsers(user: Command): void {
  user
    .command('add')
    .argument('<name>', 'user name')
    .description("add a user (a member unless --admin or --viewer) and print its token, shown only this once")
    .option('--admin', 'an admin: may do everything')
    .option('--viewer', 'a viewer: reads the queue and GPUs only')
    .option('--json', 'print {"user": ..., "token": ...}')
    .action(async (name: string, flags: { admin?: boolean; viewer?: boolean; json?: boolean }) => {
      if (flags.admin && flags.viewer) throw new StintError('INVALID_REQUEST', '--admin and --viewer exclude each other', { field: '--admin' });
      const role = flags.admin ? 'admin' : flags.viewer ? 'viewer' : 'member';
      const added = await session().client.addUser(name, role);
      print(flags.json, { user: added.user, token: added.token }, () =>
        [
          `added ${added.user.name} (${added.user.role}). Their API token, shown only this once:`,
          '',
          `  ${added.token}`,
          '',
          `Give it to ${added.user.name}, who sets STINT_TOKEN to it (and STINT_URL to this server).`,
        ].join('\n'),
      );
    });
  user
    .command('list')
    .description('list users with their roles and projects')
    .option('-a, --all', 'include removed users')
    .option('--json', 'print the users as a JSON array')
    .action(async (flags: { all?: boolean; json?: boolean }) => {
      const { client, style } = session();
      const { users } = await client.listUsers({ all: flags.all });
      print(flags.json, users, () => renderUsers(users, Date.now(), style));
    });
  user
    .command('set-caps')
    .argument('<name>', 'stint user')
    .description('cap the GPUs a user may hold at once and the jobs it may queue (admins)')
    .option('--max-gpus <n>', 'most GPUs held at once')
    .option('--max-queued <n>', 'most jobs queued')
    .action(async (name: string, flags: { maxGpus?: string; maxQueued?: string }) => {
      const caps = await session().client.setUserCaps(name, {
        ...(flags.maxGpus !== undefined && { maxGpus: wholeNumber('--max-gpus', flags.maxGpus) }),
        ...(flags.maxQueued !== undefined && { maxQueued: wholeNumber('--max-queued', flags.maxQueued) }),
      });
      process.stdout.write(`${caps.user}: at most ${caps.maxGpus ?? 'any number of'} GPUs at once, ${caps.maxQueued ?? 'any number of'} jobs queued\n`);
    });
  user
    .command('map')
    .argument('<name>', 'stint user')
    .argument('[unix-user]', 'the Unix account on the server machine its jobs run as (when the server runs as root)')
    .option('--none', 'remove the mapping')
    .description('map a user to a Unix account (admins)')
    .action(async (name: string, unixUser: string | undefined, flags: { none?: boolean }) => {
      if (!flags.none && unixUser === undefined) throw new StintError('INVALID_REQUEST', 'give a Unix account, or --none to remove the mapping', { field: 'unix-user' });
      const user = await session().client.setUnixUser(name, flags.none ? null : unixUser!);
      process.stdout.write(user.unixUser ? `${user.name}'s jobs run as Unix account ${user.unixUser}\n` : `${user.name} is no longer mapped to a Unix account\n`);
    });
  user
    .command('remove')
    .argument('<name>', 'user name')
    .description('remove a user and revoke all its tokens (its jobs are left as they are)')
    .action(async (name: string) => {
      const { user: removed, revokedTokens } = await session().client.removeUser(name);
      process.stdout.write(`removed ${removed.name}; revoked ${revokedTokens} token${revokedTokens === 1 ? '' : 's'}\n`);
    });
}

function registerTokens(token: Command): void {
  token
    .command('create')
    .description('create an API token for yourself (admins: --user NAME) and print it, shown only this once')
    .option('--user <name>', 'whose token (admins only for another user)')
    .option('--label <label>', 'what the token is for, e.g. "laptop"')
    .option('--json', 'print {"token": ..., "tokenInfo": ...}')
    .action(async (flags: { user?: string; label?: string; json?: boolean }) => {
      const created = await session().client.createToken({ user: flags.user, label: flags.label });
      print(flags.json, created, () => `token ${created.tokenInfo.id} for ${created.tokenInfo.user}, shown only this once:\n\n  ${created.token}\n`);
    });
  token
    .command('list')
    .description('list your tokens (admins: --user NAME), without their values')
    .option('--user <name>', 'whose tokens')
    .option('--json', 'print the tokens as a JSON array')
    .action(async (flags: { user?: string; json?: boolean }) => {
      const { client, style } = session();
      const { tokens } = await client.listTokens({ user: flags.user });
      print(flags.json, tokens, () => renderTokens(tokens, Date.now(), style));
    });
  token
    .command('revoke')
    .argument('<id>', 'token id (see `stint admin token list`)')
    .description('revoke a token; it is refused from the next request on')
    .option('--force', 'revoke it even if it is the last active admin token (no one can then manage users or tokens)')
    .action(async (id: string, flags: { force?: boolean }) => {
      const { tokenInfo } = await session().client.revokeToken(parseCount(id, 'token id'), { force: flags.force });
      process.stdout.write(`revoked token ${tokenInfo.id} of ${tokenInfo.user}\n`);
    });
}

function registerProjects(project: Command): void {
  project
    .command('set-quota')
    .argument('<name>', 'project name')
    .description("set a project's guaranteed GPUs (borrowing beyond them is preemptible) and caps (admins)")
    .requiredOption('--gpus <list>', 'guaranteed GPUs per type, e.g. A100:2 or A100:2,H100:1 (A100:0 = none)')
    .option('--max-gpus <n>', 'most GPUs the project may hold at once')
    .option('--max-queued <n>', 'most jobs the project may have queued')
    .action(async (name: string, flags: { gpus: string; maxGpus?: string; maxQueued?: string }) => {
      const quota = {
        guaranteed: parseGuaranteed(flags.gpus),
        ...(flags.maxGpus !== undefined && { maxGpus: wholeNumber('--max-gpus', flags.maxGpus) }),
        ...(flags.maxQueued !== undefined && { maxQueued: wholeNumber('--max-queued', flags.maxQueued) }),
      };
      const set = await session().client.setProjectQuota(name, quota);
      const list = Object.entries(set.guaranteed).map(([type, n]) => `${n} × ${type}`).join(', ') || 'none';
      process.stdout.write(`project ${set.project}: guaranteed ${list}${set.maxGpus !== undefined ? `; at most ${set.maxGpus} GPUs at once` : ''}${set.maxQueued !== undefined ? `; at most ${set.maxQueued} queued` : ''}\n`);
    });
  project
    .command('add')
    .argument('<name>', 'project name')
    .description('add a project (admins)')
    .action(async (name: string) => {
      const added = await session().client.addProject(name);
      process.stdout.write(`added project ${added.name}\n`);
    });
  project
    .command('list')
    .description('list projects with their members (admins)')
    .option('--json', 'print the projects as a JSON array')
    .action(async (flags: { json?: boolean }) => {
      const { client, style } = session();
      const { projects } = await client.listProjects();
      print(flags.json, projects, () => renderProjects(projects, style));
    });
  const member = project.command('member').description("add or remove a project's members (admins, the project's admins)");
  member
    .command('add')
    .arguments('<project> <user>')
    .description('add a member, or change its role')
    .option('--admin', "a project admin: reads and cancels the project's jobs, manages its members")
    .action(async (name: string, user: string, flags: { admin?: boolean }) => {
      const role = flags.admin ? 'admin' : 'member';
      await session().client.setProjectMember(name, user, role);
      process.stdout.write(`${user} is now ${role === 'admin' ? 'an admin' : 'a member'} of project ${name}\n`);
    });
  member
    .command('remove')
    .arguments('<project> <user>')
    .description('remove a member')
    .action(async (name: string, user: string) => {
      await session().client.removeProjectMember(name, user);
      process.stdout.write(`${user} is no longer a member of project ${name}\n`);
    });
}

function session(): { client: StintClient; style: Style } {
  const config = clientConfig();
  return { client: connect(config), style: { color: config.color } };
}

function print(json: boolean | undefined, data: unknown, human: () => string): void {
  process.stdout.write((json ? JSON.stringify(data, null, 2) : human()) + '\n');
}

function parseCount(text: string, what = '--limit'): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) {
    throw new StintError('INVALID_REQUEST', `${what}: "${text}" is not a positive whole number`, { field: what, value: text });
  }
  return value;
}

export function renderUsers(users: readonly UserView[], now: number, style: Style): string {
  if (users.length === 0) return 'no users';
  const rows = users.map((u) => [
    u.name,
    u.role,
    u.projects.map((p) => (p.role === 'admin' ? `${p.project} (admin)` : p.project)).join(', ') || '-',
    relativeTime(u.createdAt, now),
    u.removedAt ? `removed ${relativeTime(u.removedAt, now)}` : '',
  ]);
  return table(['NAME', 'ROLE', 'PROJECTS', 'ADDED', ''], rows, style);
}

export function renderTokens(tokens: readonly TokenView[], now: number, style: Style): string {
  if (tokens.length === 0) return 'no tokens';
  const rows = tokens.map((t) => [
    String(t.id),
    t.user,
    t.label ?? '-',
    relativeTime(t.createdAt, now),
    relativeTime(t.lastUsedAt, now),
    t.revokedAt ? `revoked ${relativeTime(t.revokedAt, now)}` : 'active',
  ]);
  return table(['ID', 'USER', 'LABEL', 'CREATED', 'LAST USED', 'STATE'], rows, style);
}

export function renderProjects(projects: readonly ProjectView[], style: Style): string {
  if (projects.length === 0) return 'no projects (add one with `stint admin project add NAME`)';
  const rows = projects.map((p) => [p.name, p.members.map((m) => (m.role === 'admin' ? `${m.user} (admin)` : m.user)).join(', ') || '-']);
  return table(['PROJECT', 'MEMBERS'], rows, style);
}

export function renderAudit(entries: readonly AuditEntryView[], now: number, style: Style): string {
  if (entries.length === 0) return 'the audit log is empty';
  const rows = entries.map((e) => [relativeTime(e.at, now), e.actor, e.action, e.target, JSON.stringify(e.details)]);
  return table(['WHEN', 'WHO', 'ACTION', 'TARGET', 'DETAILS'], rows, style);
}

function parseGuaranteed(text: string): Record<string, number> {
  const guaranteed: Record<string, number> = {};
  for (const part of text.split(',')) {
    const match = /^\s*([A-Za-z0-9][\w-]*):(\d+)\s*$/.exec(part);
    if (!match) throw new StintError('INVALID_REQUEST', `--gpus: "${part}" is not TYPE:COUNT (e.g. A100:2)`, { field: '--gpus', value: text });
    guaranteed[match[1]!] = Number(match[2]);
  }
  return guaranteed;
}

function wholeNumber(flag: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new StintError('INVALID_REQUEST', `${flag}: "${text}" is not a whole number of 0 or more`, { field: flag, value: text });
  return n;
}
