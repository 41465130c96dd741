// Configuration: the only module that reads process.env. Options are parsed and validated once,
// frozen, and passed down. Bad values fail at start with the flag or variable named.

import { homedir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { StintError } from './core/errors.js';

export const DEFAULT_PORT = 7433;

export interface ServerConfig {
  home: string;
  host: string;
  port: number;
  fakeGpus: string | undefined;
  killGraceMs: number;
  preemptGraceMs: number;
  preemptMinRuntimeMs: number;
  /** On a root server, run unmapped users' jobs as root (an admin's explicit choice). */
  allowRootJobs: boolean;
  pollIntervalMs: number;
  maxUploadBytes: number;
  owner: string;
  /** PostgreSQL instead of the embedded SQLite (STINT_DATABASE_URL), in schema `databaseSchema`. */
  databaseUrl: string | undefined;
  databaseSchema: string;
}

export interface ServerFlags {
  home?: string;
  host?: string;
  port?: string;
  gpus?: string;
  killGrace?: string;
  preemptGrace?: string;
  preemptMinRuntime?: string;
  allowRootJobs?: boolean;
  /** Overrides STINT_DATABASE_URL (tests). */
  databaseUrl?: string;
}

export function stintHome(flag?: string): string {
  return resolve(flag ?? process.env.STINT_HOME ?? join(homedir(), '.stint'));
}

export function serverConfig(flags: ServerFlags): Readonly<ServerConfig> {
  return Object.freeze({
    home: stintHome(flags.home),
    host: flags.host ?? '127.0.0.1',
    port: flags.port === undefined ? DEFAULT_PORT : parseInteger('--port', flags.port, 0, 65535),
    fakeGpus: flags.gpus,
    killGraceMs: flags.killGrace === undefined ? 30_000 : parseInteger('--kill-grace', flags.killGrace, 0, 3600) * 1000,
    preemptGraceMs: flags.preemptGrace === undefined ? 60_000 : parseInteger('--preempt-grace', flags.preemptGrace, 0, 3600) * 1000,
    preemptMinRuntimeMs: flags.preemptMinRuntime === undefined ? 300_000 : parseInteger('--preempt-min-runtime', flags.preemptMinRuntime, 0, 86_400) * 1000,
    allowRootJobs: flags.allowRootJobs ?? false,
    pollIntervalMs: 1000,
    maxUploadBytes: 100 * 1024 * 1024,
    owner: currentUser(),
    databaseUrl: databaseUrl(flags.databaseUrl ?? (process.env.STINT_DATABASE_URL || undefined)),
    databaseSchema: process.env.STINT_DATABASE_SCHEMA || 'stint',
  });
}

function databaseUrl(url: string | undefined): string | undefined {
  if (url === undefined || /^postgres(ql)?:\/\//.test(url)) return url;
  const shown = url.replace(/\/\/[^@/]*@/, '//***@');
  throw new StintError('INVALID_REQUEST', `STINT_DATABASE_URL: "${shown}" is not a PostgreSQL URL; expected postgres://user:password@host:5432/database (leave it unset for the embedded SQLite)`, { field: 'STINT_DATABASE_URL' });
}

export interface ClientConfig {
  home: string;
  /** Explicit server URL (STINT_URL); otherwise found in $STINT_HOME/server.json. */
  url: string | undefined;
  /** Explicit token (STINT_TOKEN); otherwise read from $STINT_HOME/token. */
  token: string | undefined;
  color: boolean;
}

export function clientConfig(): Readonly<ClientConfig> {
  return Object.freeze({
    home: stintHome(),
    url: process.env.STINT_URL || undefined,
    token: process.env.STINT_TOKEN || undefined,
    color: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR,
  });
}

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'user';
  }
}

function parseInteger(flag: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new StintError('INVALID_REQUEST', `${flag}: "${text}" is not valid; expected a whole number from ${min} to ${max}`, { field: flag, value: text });
  }
  return value;
}
