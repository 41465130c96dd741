// The typed client of the REST API, used by the CLI (and tests). Every non-2xx answer is rebuilt
// into the StintError the server threw, with the same code; a server that cannot be reached is a
// SERVER_UNREACHABLE error saying how to start one.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { z } from 'zod';
import { DEFAULT_PORT, type ClientConfig } from '../config.js';
import { isErrorCode, StintError } from '../core/errors.js';
import {
  CancelResponseSchema,
  ErrorBodySchema,
  GpuListSchema,
  JobDetailSchema,
  JobListSchema,
  LogChunkSchema,
  ServerInfoSchema,
  SubmitResponseSchema,
  UploadResponseSchema,
  UsageReportSchema,
  type SubmitRequest,
} from './schemas.js';
import {
  AddUserResponseSchema,
  AuditListSchema,
  CreateTokenResponseSchema,
  MeSchema,
  ProjectListSchema,
  ProjectQuotaSchema,
  ProjectViewSchema,
  QuotaListSchema,
  RemoveUserResponseSchema,
  RevokeTokenResponseSchema,
  TokenListSchema,
  UserListSchema,
  UserCapsSchema,
  UserViewSchema,
} from './admin-schemas.js';
import { ImageListSchema, ImageViewSchema } from './image-schemas.js';
import { DrainResponseSchema, HealthReportSchema, IdlePolicyListSchema, IdlePolicySchema, JobTelemetrySchema, WebhookViewSchema } from './observability-schemas.js';

export interface ListQuery {
  all?: boolean;
  state?: string;
  limit?: number;
  before?: number;
}

export class StintClient {
  constructor(
    readonly baseUrl: string,
    private readonly token: string | undefined,
    /** Where the token came from, for the hint on a refused token. */
    private readonly tokenSource = 'the caller',
  ) {}

  /** Cookie mode, set by `withSession`: no bearer token; the CSRF token on every change. */
  private session: { csrfToken: string; cookie?: string } | undefined;

  /**
   * A client of the web UI's cookie session (POST /api/v1/session answered `csrfToken` and set
   * the httpOnly `stint_session` cookie): no Authorization header, `credentials: 'same-origin'`
   * (a browser sends the cookie by itself; elsewhere pass it as `cookie`), and X-CSRF-Token on
   * every call that is not GET/HEAD/OPTIONS.
   */
  static withSession(baseUrl: string, session: { csrfToken: string; cookie?: string }): StintClient {
    const client = new StintClient(baseUrl, undefined, 'the session cookie');
    client.session = session;
    return client;
  }

  /**
   * `idempotencyKey` (sent as the Idempotency-Key header): a retry with the same key and request
   * answers with the job of the first one instead of making a second (see submitWithRetry);
   * `replayed` in the answer says so (the server's Idempotent-Replayed header).
   */
  async submit(request: SubmitRequest, options: { idempotencyKey?: string } = {}) {
    const headers = options.idempotencyKey === undefined ? undefined : { 'idempotency-key': quoteKey(options.idempotencyKey) };
    let replayed = false;
    const answer = await this.call('POST', '/api/v1/jobs', SubmitResponseSchema, { json: request, headers, onResponse: (r) => (replayed = r.headers.get('idempotent-replayed') === 'true') });
    return { ...answer, replayed };
  }

  listJobs(query: ListQuery = {}) {
    return this.call('GET', '/api/v1/jobs', JobListSchema, { query: { ...query, all: query.all ? 'true' : undefined } });
  }

  getJob(id: number) {
    return this.call('GET', `/api/v1/jobs/${id}`, JobDetailSchema);
  }

  cancel(id: number) {
    return this.call('POST', `/api/v1/jobs/${id}/cancel`, CancelResponseSchema);
  }

  logs(id: number, query: { offset?: number; limit?: number; attempt?: number } = {}) {
    return this.call('GET', `/api/v1/jobs/${id}/logs`, LogChunkSchema, { query });
  }

  gpus() {
    return this.call('GET', '/api/v1/gpus', GpuListSchema);
  }

  info() {
    return this.call('GET', '/api/v1/info', ServerInfoSchema);
  }

  upload(archive: Buffer) {
    return this.call('POST', '/api/v1/uploads', UploadResponseSchema, { raw: archive, contentType: 'application/gzip' });
  }

  setProjectQuota(project: string, quota: { guaranteed: Record<string, number>; maxGpus?: number; maxQueued?: number }) {
    return this.call('PUT', `/api/v1/admin/projects/${encodeURIComponent(project)}/quota`, ProjectQuotaSchema, { json: quota });
  }

  listQuotas() {
    return this.call('GET', '/api/v1/admin/quotas', QuotaListSchema);
  }

  usage(query: { by?: 'user' | 'project'; since?: string } = {}) {
    return this.call('GET', '/api/v1/usage', UsageReportSchema, { query });
  }

  me() {
    return this.call('GET', '/api/v1/me', MeSchema);
  }

  addUser(name: string, role: 'admin' | 'member' | 'viewer' = 'member') {
    return this.call('POST', '/api/v1/admin/users', AddUserResponseSchema, { json: { name, role } });
  }

  listUsers(options: { all?: boolean } = {}) {
    return this.call('GET', '/api/v1/admin/users', UserListSchema, { query: { all: options.all ? 'true' : undefined } });
  }

  setUserCaps(name: string, caps: { maxGpus?: number; maxQueued?: number }) {
    return this.call('PUT', `/api/v1/admin/users/${encodeURIComponent(name)}/caps`, UserCapsSchema, { json: caps });
  }

  setUnixUser(name: string, unixUser: string | null) {
    return this.call('PUT', `/api/v1/admin/users/${encodeURIComponent(name)}/unix-user`, UserViewSchema, { json: { unixUser } });
  }

  removeUser(name: string) {
    return this.call('DELETE', `/api/v1/admin/users/${encodeURIComponent(name)}`, RemoveUserResponseSchema);
  }

  /** A new token for the caller, or (admins) for `user`; the answer is the only place it appears. */
  createToken(options: { user?: string; label?: string } = {}) {
    return this.call('POST', '/api/v1/tokens', CreateTokenResponseSchema, { json: options });
  }

  listTokens(options: { user?: string } = {}) {
    return this.call('GET', '/api/v1/tokens', TokenListSchema, { query: options });
  }

  /** `force`: revoke even the last active admin token (the server refuses it otherwise). */
  revokeToken(id: number, options: { force?: boolean } = {}) {
    return this.call('POST', `/api/v1/tokens/${id}/revoke`, RevokeTokenResponseSchema, options.force ? { json: { force: true } } : {});
  }

  addProject(name: string) {
    return this.call('POST', '/api/v1/admin/projects', ProjectViewSchema, { json: { name } });
  }

  listProjects() {
    return this.call('GET', '/api/v1/admin/projects', ProjectListSchema);
  }

  setProjectMember(project: string, user: string, role: 'admin' | 'member' = 'member') {
    return this.call('PUT', `/api/v1/admin/projects/${encodeURIComponent(project)}/members/${encodeURIComponent(user)}`, ProjectViewSchema, { json: { role } });
  }

  removeProjectMember(project: string, user: string) {
    return this.call('DELETE', `/api/v1/admin/projects/${encodeURIComponent(project)}/members/${encodeURIComponent(user)}`, ProjectViewSchema);
  }

  jobTelemetry(id: number) {
    return this.call('GET', `/api/v1/jobs/${id}/telemetry`, JobTelemetrySchema);
  }

  health() {
    return this.call('GET', '/api/v1/health', HealthReportSchema);
  }

  drain(action: 'drain' | 'resume', target: { backend?: string; node?: string; gpu?: number; reason?: string }) {
    return this.call('POST', `/api/v1/admin/${action}`, DrainResponseSchema, { json: target });
  }

  idlePolicies() {
    return this.call('GET', '/api/v1/admin/idle-policies', IdlePolicyListSchema);
  }

  setIdlePolicy(project: string, policy: { thresholdPercent: number; warnAfterSeconds: number; stopAfterSeconds: number | null; appliesTo: 'interactive' | 'all' }) {
    return this.call('PUT', `/api/v1/admin/idle-policies/${encodeURIComponent(project)}`, IdlePolicySchema, { json: policy });
  }

  removeIdlePolicy(project: string) {
    return this.call('DELETE', `/api/v1/admin/idle-policies/${encodeURIComponent(project)}`, IdlePolicyListSchema);
  }

  webhook() {
    return this.call('GET', '/api/v1/me/webhook', WebhookViewSchema);
  }

  setWebhook(url: string, format: 'json' | 'slack' = 'json') {
    return this.call('PUT', '/api/v1/me/webhook', WebhookViewSchema, { json: { url, format } });
  }

  removeWebhook() {
    return this.call('DELETE', '/api/v1/me/webhook', WebhookViewSchema);
  }

  /**
   * Sends an image archive (tar or tar.gz) to the server, which imports it into podman's storage.
   * A Blob (a file: fs.openAsBlob) is streamed with its Content-Length, so an oversize file is
   * refused before it is sent; a stream (a directory being tarred) is sent chunked.
   */
  importImage(body: Blob | ReadableStream<Uint8Array> | Buffer, options: { name?: string; fileName?: string } = {}) {
    return this.call('POST', '/api/v1/images', ImageViewSchema, { raw: body, contentType: 'application/octet-stream', query: { name: options.name, fileName: options.fileName } });
  }

  listImages() {
    return this.call('GET', '/api/v1/images', ImageListSchema);
  }

  removeImage(name: string) {
    return this.call('DELETE', '/api/v1/images', ImageViewSchema, { query: { name } });
  }

  audit(query: { limit?: number; before?: number } = {}) {
    return this.call('GET', '/api/v1/admin/audit', AuditListSchema, { query });
  }

  private async call<S extends z.ZodTypeAny>(
    method: string,
    path: string,
    schema: S,
    options: { json?: unknown; raw?: Buffer | Blob | ReadableStream<Uint8Array>; contentType?: string; query?: Record<string, unknown>; headers?: Record<string, string>; onResponse?: (response: Response) => void } = {},
  ): Promise<z.infer<S>> {
    const url = new URL(path, this.baseUrl);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const headers: Record<string, string> = { ...options.headers };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (this.session?.cookie) headers.cookie = this.session.cookie;
    if (this.session && !['GET', 'HEAD', 'OPTIONS'].includes(method)) headers['x-csrf-token'] = this.session.csrfToken;
    let body: string | Buffer | Blob | ReadableStream<Uint8Array> | undefined;
    if (options.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.json);
    } else if (options.raw) {
      headers['content-type'] = options.contentType ?? 'application/octet-stream';
      body = options.raw;
    }
    let response: Response;
    try {
      // A stream body needs half-duplex (Node's fetch); the answer is read once it is sent.
      const duplex = body instanceof ReadableStream ? { duplex: 'half' } : {};
      response = await fetch(url, { method, headers, body: body as BodyInit | undefined, credentials: 'same-origin', ...duplex } as RequestInit);
    } catch (error) {
      throw new StintError('SERVER_UNREACHABLE', `no stint server answers at ${this.baseUrl}; start one with \`stint server\` or set STINT_URL`, { url: this.baseUrl }, { cause: error });
    }
    options.onResponse?.(response);
    const payload: unknown = await response.json().catch(() => null);
    if (!response.ok) throw this.withHint(toError(response.status, payload));
    return schema.parse(payload);
  }

  private withHint(error: StintError): StintError {
    if (error.code !== 'UNAUTHORIZED') return error;
    const where = this.token ? `the token from ${this.tokenSource}` : `no token (looked in ${this.tokenSource})`;
    return new StintError(error.code, `${error.message}. The client sent ${where} to ${this.baseUrl}; set STINT_TOKEN, or STINT_HOME to the server's home directory.`, error.details);
  }
}

/** The key as an RFC 8941 sf-string, the form the Idempotency-Key draft gives the header. */
function quoteKey(key: string): string {
  return `"${key.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

function toError(status: number, payload: unknown): StintError {
  const parsed = ErrorBodySchema.safeParse(payload);
  if (parsed.success && isErrorCode(parsed.data.code)) {
    return new StintError(parsed.data.code, parsed.data.message, parsed.data.details);
  }
  return new StintError('INTERNAL', `the server answered HTTP ${status} without an error body`, { status });
}

/** Finds the server (STINT_URL, else $STINT_HOME/server.json, else the default port) and token. */
export function connect(config: ClientConfig): StintClient {
  const tokenFile = join(config.home, 'token');
  const token = config.token ?? readIfExists(tokenFile);
  const url = config.url ?? serverJsonUrl(config.home) ?? `http://127.0.0.1:${DEFAULT_PORT}`;
  return new StintClient(url, token, config.token ? 'STINT_TOKEN' : tokenFile);
}

function serverJsonUrl(home: string): string | undefined {
  const text = readIfExists(join(home, 'server.json'));
  if (!text) return undefined;
  try {
    const url = (JSON.parse(text) as { url?: unknown }).url;
    return typeof url === 'string' ? url : undefined;
  } catch {
    return undefined;
  }
}

function readIfExists(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, 'utf8').trim() : undefined;
}
