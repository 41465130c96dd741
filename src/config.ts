// Configuration: the only module that reads process.env. Options are parsed and validated once,
// frozen, and passed down. Bad values fail at start with the flag or variable named.

import { readFileSync, statSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { StintError } from './core/errors.js';
import { DEFAULT_IDLE_RULE, parseIdleRule, type IdleRule } from './core/idle.js';

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
  /**
   * Let several users who may run jobs share one Unix account (a non-root server, Slurm through one
   * service account) although each can then read the others' files and secrets (--shared-account-insecure).
   */
  sharedAccountInsecure: boolean;
  /** `--jobs-dir`: where the local backend keeps job directories (default: see backends/local/jobs-dir.ts). */
  jobsDir: string | undefined;
  pollIntervalMs: number;
  maxUploadBytes: number;
  /** `--max-image-mb`: the largest image archive `stint image import` accepts (default 20 GiB). */
  maxImageBytes: number;
  owner: string;
  /** PostgreSQL instead of the embedded SQLite (STINT_DATABASE_URL), in schema `databaseSchema`. */
  databaseUrl: string | undefined;
  databaseSchema: string;
  /** /metrics, GPU telemetry, health checks, idle-GPU policy, alerts (docs/observability.md). */
  observability: ObservabilityConfig;
  /** `--config FILE`: the backends to run (src/server/config-file.ts); absent = one local backend. */
  configFile: string | undefined;
  /** `--container-runtime PATH`: the OCI runtime podman uses (absolute); absent: detected (runc, else crun). */
  containerRuntime: string | undefined;
  /** How local backends confine jobs; the shape of those LocalBackendOptions (spread into them). */
  sandbox: LocalSandboxConfig;
}

/** `--fake-gpu-devices`, `--default-memory-per-gpu`, `--pids-limit`, `--no-confine`. */
export interface LocalSandboxConfig {
  fakeGpuDevices?: string;
  defaultMemoryPerGpuBytes?: number;
  pidsLimit?: number;
  confine?: boolean;
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
  sharedAccountInsecure?: boolean;
  jobsDir?: string;
  /** Overrides STINT_DATABASE_URL (tests). */
  databaseUrl?: string;
  /** In-process callers (tests) only: the CLI refuses `--metrics-token` (it would show in `ps`). */
  metricsToken?: string;
  /** `--metrics-token-file PATH`: the /metrics token, read once at start. */
  metricsTokenFile?: string;
  /** `--webhook-allow`: comma-separated entries saying where members' webhooks may point. */
  webhookAllow?: string;
  telemetryInterval?: string;
  gpuTelemetryFile?: string;
  healthCommand?: string;
  healthInterval?: string;
  idlePolicy?: string;
  adminWebhook?: string;
  config?: string;
  /** `--fake-gpu-devices DIR`: fake GPU N's device node is DIR/nvidiaN. */
  fakeGpuDevices?: string;
  /** `--default-memory-per-gpu SIZE`: memory limit per GPU of a task that states no `memory`. */
  defaultMemoryPerGpu?: string;
  /** `--pids-limit N`: processes and threads per attempt. */
  pidsLimit?: string;
  /** false from `--no-confine`. */
  confine?: boolean;
  /** `--max-image-mb N`: the image import size cap in MiB. */
  maxImageMb?: string;
  /** `--container-runtime PATH`: the OCI runtime for podman. */
  containerRuntime?: string;
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
    sharedAccountInsecure: flags.sharedAccountInsecure ?? false,
    jobsDir: flags.jobsDir === undefined ? undefined : resolve(flags.jobsDir),
    pollIntervalMs: 1000,
    maxUploadBytes: 100 * 1024 * 1024,
    maxImageBytes: (flags.maxImageMb === undefined ? 20 * 1024 : parseInteger('--max-image-mb', flags.maxImageMb, 1, 1024 * 1024)) * 1024 * 1024,
    owner: currentUser(),
    databaseUrl: databaseUrl(flags.databaseUrl ?? (process.env.STINT_DATABASE_URL || undefined)),
    databaseSchema: process.env.STINT_DATABASE_SCHEMA || 'stint',
    observability: observabilityConfig(flags),
    configFile: flags.config === undefined ? undefined : resolve(flags.config),
    containerRuntime: flags.containerRuntime === undefined ? undefined : resolve(flags.containerRuntime),
    sandbox: Object.freeze(sandboxConfig(flags)),
  });
}

function sandboxConfig(flags: ServerFlags): LocalSandboxConfig {
  return {
    ...(flags.fakeGpuDevices !== undefined && { fakeGpuDevices: resolve(flags.fakeGpuDevices) }),
    ...(flags.defaultMemoryPerGpu !== undefined && { defaultMemoryPerGpuBytes: parseSize('--default-memory-per-gpu', flags.defaultMemoryPerGpu) }),
    ...(flags.pidsLimit !== undefined && { pidsLimit: parseInteger('--pids-limit', flags.pidsLimit, 16, 4_194_304) }),
    ...(flags.confine === false && { confine: false }),
  };
}

/** `16GB`, `16GiB`, `512MB`, `1TB`, or a bare number of GB (GB = GiB, as in task files) → bytes. */
function parseSize(flag: string, text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(text);
  const unit = { '': 2 ** 30, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }[(match?.[2] ?? '').toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  const bytes = match ? Math.round(Number(match[1]) * unit) : Number.NaN;
  if (!Number.isFinite(bytes) || bytes < 2 ** 20) {
    throw new StintError('INVALID_REQUEST', `${flag}: "${text}" is not valid; expected a size of at least 1MB, e.g. 16GB, 16GiB, 512MB or 16 (GB)`, { field: flag, value: text });
  }
  return bytes;
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

/** The CLI caller's environment, read for what the user asks to carry into a job (--export-env, --env NAME). */
export function callerEnvironment(): Readonly<Record<string, string | undefined>> {
  return Object.freeze({ ...process.env });
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

export interface ObservabilityConfig {
  /** When set, /metrics answers only `Authorization: Bearer <token>` (STINT_METRICS_TOKEN). */
  metricsToken: string | undefined;
  telemetryIntervalMs: number;
  /** Fake GPUs' telemetry: a JSON file the sampler reads instead of a vendor tool. */
  gpuTelemetryFile: string | undefined;
  healthCommand: string | undefined;
  healthIntervalMs: number;
  /** The server's default idle-GPU rule (null: off unless an admin stores one). */
  idlePolicy: IdleRule | null;
  adminWebhooks: Array<{ url: string; format: 'json' | 'slack' }>;
  /** Where members' webhooks may point (src/alerts/address-policy.ts); empty: members set none. */
  webhookAllow: string[];
}

function observabilityConfig(flags: ServerFlags): ObservabilityConfig {
  return {
    metricsToken: flags.metricsToken ?? metricsTokenFrom(flags.metricsTokenFile, process.env.STINT_METRICS_TOKEN),
    telemetryIntervalMs: flags.telemetryInterval === undefined ? 5000 : parseSeconds('--telemetry-interval', flags.telemetryInterval, 0.1, 3600),
    gpuTelemetryFile: flags.gpuTelemetryFile === undefined ? undefined : resolve(flags.gpuTelemetryFile),
    healthCommand: flags.healthCommand || undefined,
    healthIntervalMs: flags.healthInterval === undefined ? 60_000 : parseSeconds('--health-interval', flags.healthInterval, 0.1, 86_400),
    idlePolicy: idlePolicy(flags.idlePolicy),
    adminWebhooks: (flags.adminWebhook ?? process.env.STINT_ADMIN_WEBHOOK ?? '').split(',').map((u) => u.trim()).filter(Boolean).map(webhookTarget),
    webhookAllow: webhookAllow(flags.webhookAllow ?? process.env.STINT_WEBHOOK_ALLOW ?? ''),
  };
}

/** `--webhook-allow` entries (parsed, and a bad one refused, when the alert sender starts). */
function webhookAllow(text: string): string[] {
  return text.split(',').map((e) => e.trim()).filter(Boolean);
}

/** The /metrics token from `--metrics-token-file` (a file others cannot read) or STINT_METRICS_TOKEN. */
function metricsTokenFrom(file: string | undefined, env: string | undefined): string | undefined {
  if (file === undefined) return env || undefined;
  const flag = '--metrics-token-file';
  let text: string;
  try {
    if ((statSync(file).mode & 0o004) !== 0) throw new StintError('INVALID_REQUEST', `${flag}: ${file} is readable by every local user; chmod 600 it (only the server's account should read the token)`, { field: flag, value: file });
    text = readFileSync(file, 'utf8').trim();
  } catch (error) {
    if (error instanceof StintError) throw error;
    throw new StintError('INVALID_REQUEST', `${flag}: cannot read ${file} (${(error as Error).message})`, { field: flag, value: file }, { cause: error });
  }
  if (!text) throw new StintError('INVALID_REQUEST', `${flag}: ${file} is empty; expected the token on its first line`, { field: flag, value: file });
  return text;
}

function idlePolicy(text: string | undefined): IdleRule | null {
  if (text === undefined) return { ...DEFAULT_IDLE_RULE };
  if (text === 'off') return null;
  const rule = parseIdleRule(text);
  if (typeof rule === 'string') throw new StintError('INVALID_REQUEST', `--idle-policy: ${rule} (e.g. threshold=5,warn=30m,stop=2h,applies=interactive, or off)`, { field: '--idle-policy', value: text });
  return rule;
}

/** `https://...` (generic JSON) or `slack:https://...` (Slack-compatible body). */
function webhookTarget(text: string): { url: string; format: 'json' | 'slack' } {
  const slack = text.startsWith('slack:');
  const url = text.replace(/^(slack|json):/, '');
  if (!/^https?:\/\//.test(url)) throw new StintError('INVALID_REQUEST', `--admin-webhook: "${url}" is not an http(s) URL`, { field: '--admin-webhook' });
  return { url, format: slack ? 'slack' : 'json' };
}

function parseSeconds(flag: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new StintError('INVALID_REQUEST', `${flag}: "${text}" is not valid; expected seconds from ${min} to ${max}`, { field: flag, value: text });
  }
  return Math.round(value * 1000);
}
