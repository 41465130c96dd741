// The browser's client of the stint REST API. The session is an httpOnly, SameSite=Strict cookie
// (`stint_session`) that the server sets when the login page posts the token to /api/v1/session;
// the token itself is never kept by the page. Invariants: no Authorization header is ever sent;
// every call that is not GET/HEAD/OPTIONS carries X-CSRF-Token (from the session answer, or from
// /api/v1/me after a reload); every non-2xx answer is rebuilt as an ApiError carrying the
// server's {code, message, details}. Wire types come from the shared zod schemas (type-only
// imports: zod is not bundled).

import type { GpuView, NodeConfinementView, JobDetailView, JobView, LogChunkView, SubmitRequest, SubmitResponse, UsageReport, UsageSeries } from '../../src/api/schemas.js';
import type { MeView, ProjectView, TokenView, UserView } from '../../src/api/admin-schemas.js';

export type { GpuView, JobDetailView, JobView, LogChunkView, SubmitResponse, UsageReport, UsageSeries, MeView, ProjectView, TokenView, UserView };

export interface ErrorDetails {
  [key: string]: unknown;
}

export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details: ErrorDetails,
    readonly status: number,
  ) {
    super(message);
  }
}

export interface JobListQuery {
  all?: boolean;
  state?: string;
  user?: string;
  project?: string;
  backend?: string;
  since?: string;
  q?: string;
  sort?: string;
  order?: 'asc' | 'desc';
  offset?: number;
  limit?: number;
}

export interface Quota {
  project: string;
  guaranteed: Record<string, number>;
  maxGpus?: number;
  maxQueued?: number;
}

type Query = Record<string, string | number | boolean | undefined>;

/** GET requests sent before React started (see `prefetch`), each used once by the first identical call. */
export type EarlyRequests = Map<string, Promise<Response>>;

/** Starts GET requests at once (the cookie goes with them), so the first page's data is on its way while the app boots. */
export function prefetch(urls: string[]): EarlyRequests {
  return new Map(urls.map((url) => [url, fetch(url, { credentials: 'same-origin' })]));
}

/** The caller, as /api/v1/me and /api/v1/session answer: with the session's CSRF token. */
export type SessionMe = MeView & { csrfToken: string };

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Exchanges a pasted API token for the session cookie; the answer's CSRF token goes on every change. */
export async function openSession(token: string): Promise<SessionMe> {
  const answer = await request<{ csrfToken: string; me: MeView }>('POST', '/api/v1/session', null, { json: { token } });
  return { ...answer.me, csrfToken: answer.csrfToken };
}

/** The session the cookie carries, or null when there is none (or it ended). */
export async function currentSession(early?: EarlyRequests): Promise<SessionMe | null> {
  try {
    const sent = early?.get('/api/v1/me');
    early?.delete('/api/v1/me');
    return await request<SessionMe>('GET', '/api/v1/me', null, {}, sent);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return null;
    throw error;
  }
}

async function request<T>(method: string, url: string, csrfToken: string | null, options: { json?: unknown; signal?: AbortSignal }, sent?: Promise<Response>): Promise<T> {
  const headers: Record<string, string> = {};
  if (options.json !== undefined) headers['content-type'] = 'application/json';
  if (csrfToken && !SAFE_METHODS.has(method)) headers['x-csrf-token'] = csrfToken;
  const response = await (sent ??
    fetch(url, { method, headers, credentials: 'same-origin', body: options.json !== undefined ? JSON.stringify(options.json) : undefined, signal: options.signal }));
  const text = await response.text();
  const body: unknown = text ? JSON.parse(text) : null;
  if (!response.ok) {
    const e = (body ?? {}) as { code?: string; message?: string; details?: ErrorDetails };
    throw new ApiError(e.code ?? 'HTTP_' + response.status, e.message ?? response.statusText, e.details ?? {}, response.status);
  }
  return body as T;
}

export class Api {
  constructor(
    private readonly csrfToken: string,
    private readonly onUnauthorized: () => void = () => {},
    private readonly early: EarlyRequests = new Map(),
  ) {}

  async call<T>(method: string, path: string, options: { query?: Query; json?: unknown; signal?: AbortSignal } = {}): Promise<T> {
    const url = withQuery(path, options.query);
    const sent = method === 'GET' ? this.early.get(url) : undefined;
    if (sent) this.early.delete(url);
    try {
      return await request<T>(method, url, this.csrfToken, options, sent);
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) this.onUnauthorized();
      throw error;
    }
  }

  /** Ends the session: the server forgets it and clears the cookie. */
  closeSession = () => this.call<unknown>('DELETE', '/api/v1/session');

  me = () => this.call<MeView>('GET', '/api/v1/me');
  gpus = () => this.call<{ gpus: GpuView[]; confinement?: NodeConfinementView[] }>('GET', '/api/v1/gpus');
  info = () => this.call<{ version: string; backends: Array<{ name: string; kind: string }> }>('GET', '/api/v1/info');
  jobs = (query: JobListQuery, signal?: AbortSignal) => this.call<{ jobs: JobView[]; total?: number }>('GET', '/api/v1/jobs', { query: jobsQuery(query), signal });
  job = (id: number) => this.call<JobDetailView>('GET', `/api/v1/jobs/${id}`);
  cancel = (id: number) => this.call<{ id: number; state: string; message: string }>('POST', `/api/v1/jobs/${id}/cancel`);
  submit = (request: SubmitRequest) => this.call<SubmitResponse>('POST', '/api/v1/jobs', { json: request });
  logs = (id: number, query: { offset?: number; limit?: number; attempt?: number }) => this.call<LogChunkView>('GET', `/api/v1/jobs/${id}/logs`, { query });
  usageSeries = (by: 'user' | 'project', since: string, buckets: number) => this.call<UsageSeries>('GET', '/api/v1/usage/series', { query: { by, since, buckets } });
  usage = (by: 'user' | 'project', since: string) => this.call<UsageReport>('GET', '/api/v1/usage', { query: { by, since } });
  users = () => this.call<{ users: UserView[] }>('GET', '/api/v1/admin/users');
  addUser = (name: string, role: string) => this.call<{ user: UserView; token: string }>('POST', '/api/v1/admin/users', { json: { name, role } });
  removeUser = (name: string) => this.call<unknown>('DELETE', `/api/v1/admin/users/${encodeURIComponent(name)}`);
  tokens = (user: string) => this.call<{ tokens: TokenView[] }>('GET', '/api/v1/tokens', { query: { user } });
  createToken = (user: string, label: string) => this.call<{ token: string; tokenInfo: TokenView }>('POST', '/api/v1/tokens', { json: { user, label: label || undefined } });
  /** `force`: even the last active admin token (the server refuses it otherwise, with why). */
  revokeToken = (id: number, force = false) => this.call<unknown>('POST', `/api/v1/tokens/${id}/revoke`, force ? { json: { force: true } } : {});
  projects = () => this.call<{ projects: ProjectView[] }>('GET', '/api/v1/admin/projects');
  addProject = (name: string) => this.call<unknown>('POST', '/api/v1/admin/projects', { json: { name } });
  setMember = (project: string, user: string, role: string) =>
    this.call<unknown>('PUT', `/api/v1/admin/projects/${encodeURIComponent(project)}/members/${encodeURIComponent(user)}`, { json: { role } });
  quotas = () => this.call<{ quotas: Quota[] }>('GET', '/api/v1/admin/quotas');
  setQuota = (project: string, quota: Omit<Quota, 'project'>) => this.call<unknown>('PUT', `/api/v1/admin/projects/${encodeURIComponent(project)}/quota`, { json: quota });
}

function jobsQuery(query: JobListQuery): Query {
  return { ...query, all: query.all ? 'true' : undefined };
}

/** The URL `Api.jobs(query)` asks for. */
export function jobsUrl(query: JobListQuery): string {
  return withQuery('/api/v1/jobs', jobsQuery(query));
}

export function withQuery(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== '') params.set(key, String(value));
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

/** A short text for any thrown value. */
export function errorText(error: unknown): string {
  if (error instanceof ApiError) return `${error.message} (${error.code})`;
  return error instanceof Error ? error.message : String(error);
}
