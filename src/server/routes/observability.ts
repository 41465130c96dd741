// Observability routes: a job's GPU telemetry, GPU health (drains and health events), drain and
// resume by hand (admins), idle-GPU policies (admins), and each user's alert webhook. Thin: the
// work is in src/health, src/telemetry and src/alerts. A job's telemetry is read only by those who
// read its logs (rule telemetry.owner-or-project-admin).

import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { ErrorBodySchema, IdParamsSchema } from '../../api/schemas.js';
import { DrainRequestSchema, DrainResponseSchema, HealthReportSchema, IdlePolicyListSchema, IdlePolicySchema, JobTelemetrySchema, ProjectParamsSchema, WebhookSchema, WebhookViewSchema, type DrainView } from '../../api/observability-schemas.js';
import { StintError } from '../../core/errors.js';
import type { GpuDrain } from '../../store/observability.js';
import type { Observability } from '../../metrics/observability.js';
import { assertAdmin, assertCanReadTelemetry } from '../access.js';
import { recordAudit } from '../audit.js';
import { callerOf } from '../auth.js';
import type { ServerResources } from '../resources.js';

const errors = { 400: ErrorBodySchema, 403: ErrorBodySchema, 404: ErrorBodySchema };
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function registerObservabilityRoutes(app: FastifyInstance, res: ServerResources, obs: Observability): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  api.get('/api/v1/jobs/:id/telemetry', { schema: { summary: 'GPU utilisation and memory of a job, per attempt (downsampled)', params: IdParamsSchema, response: { 200: JobTelemetrySchema, ...errors } } }, async (request) => {
    const job = await res.store.getJob(request.params.id);
    if (!job) throw new StintError('NOT_FOUND', `no job ${request.params.id}`);
    assertCanReadTelemetry(callerOf(request), job);
    const attempts = await obs.tracker.forJob(job.id);
    const idle = obs.idleMonitor()?.stateOf(job.id) ?? null;
    return {
      jobId: job.id,
      attempts: attempts.map((t) => ({ attempt: t.attempt, updatedAt: iso(t.updatedAt)!, gpuSeconds: t.gpuSeconds, idleGpuSeconds: t.idleGpuSeconds, series: t.series.map((p) => ({ ...p, at: iso(p.at)! })) })),
      idle: idle && { since: iso(idle.idleSince), warnedAt: iso(idle.warnedAt), stoppedAt: iso(idle.stoppedAt), policy: idle.rule },
    };
  });
  api.get('/api/v1/health', { schema: { summary: 'Drained GPUs and nodes, and the latest health events', response: { 200: HealthReportSchema } } }, async () => ({
    drains: obs.drains.list().map(drainView),
    events: (await res.store.observability.listHealthEvents(100)).map((e) => ({ at: iso(e.at)!, backend: e.backend, node: e.node, gpu: e.gpuIndex, kind: e.kind, detail: e.detail })),
  }));
  for (const action of ['drain', 'resume'] as const) {
    api.post(`/api/v1/admin/${action}`, { schema: { summary: action === 'drain' ? 'Drain a GPU or node: no new jobs (admins)' : 'Resume a drained GPU or node (admins)', body: DrainRequestSchema, response: { 200: DrainResponseSchema, ...errors } } }, async (request) => {
      const caller = callerOf(request);
      assertAdmin(caller, `${action} GPUs`);
      const where = await target(res, request.body);
      let changed: boolean;
      let drain: GpuDrain | null = null;
      if (action === 'drain') {
        const before = obs.drains.list().length;
        drain = await obs.drains.drain({ ...where, reason: request.body.reason ?? `drained by ${caller.name}`, source: 'admin' });
        changed = obs.drains.list().length > before;
      } else {
        changed = await obs.drains.resume(where.backend, where.node, where.gpuIndex, caller.name);
      }
      await recordAudit({ users: res.store.users, clock: res.clock }, caller, action, `${where.backend}/${where.node}${where.gpuIndex === null ? '' : `/gpu${where.gpuIndex}`}`, { reason: request.body.reason ?? null });
      res.scheduler.wake();
      return { changed, drain: drain && drainView(drain) };
    });
  }
  api.get('/api/v1/admin/idle-policies', { schema: { summary: 'Idle-GPU policies per project (admins)', response: { 200: IdlePolicyListSchema, ...errors } } }, async (request) => {
    assertAdmin(callerOf(request), 'read idle-GPU policies');
    return { policies: await res.store.observability.listIdlePolicies(), serverDefault: obs.idleDefault() };
  });
  api.put('/api/v1/admin/idle-policies/:project', { schema: { summary: 'Set a project\'s idle-GPU policy (admins)', params: ProjectParamsSchema, body: IdlePolicySchema.omit({ project: true }), response: { 200: IdlePolicySchema, ...errors } } }, async (request) => {
    const caller = callerOf(request);
    assertAdmin(caller, 'set idle-GPU policies');
    if (request.body.stopAfterSeconds !== null && request.body.stopAfterSeconds < request.body.warnAfterSeconds) throw new StintError('INVALID_REQUEST', 'stopAfterSeconds must not be before warnAfterSeconds', { field: 'stopAfterSeconds' });
    const policy = { project: request.params.project, ...request.body };
    await res.store.observability.setIdlePolicy(policy);
    obs.idleMonitor()?.invalidate();
    await recordAudit({ users: res.store.users, clock: res.clock }, caller, 'idle-policy.set', request.params.project, { ...request.body });
    return policy;
  });
  api.delete('/api/v1/admin/idle-policies/:project', { schema: { summary: 'Remove a project\'s idle-GPU policy (admins)', params: ProjectParamsSchema, response: { 200: IdlePolicyListSchema, ...errors } } }, async (request) => {
    const caller = callerOf(request);
    assertAdmin(caller, 'remove idle-GPU policies');
    if (!(await res.store.observability.removeIdlePolicy(request.params.project))) throw new StintError('NOT_FOUND', `project ${request.params.project} has no idle-GPU policy`);
    obs.idleMonitor()?.invalidate();
    await recordAudit({ users: res.store.users, clock: res.clock }, caller, 'idle-policy.remove', request.params.project);
    return { policies: await res.store.observability.listIdlePolicies(), serverDefault: obs.idleDefault() };
  });
  api.get('/api/v1/me/webhook', { schema: { summary: 'Your alert webhook', response: { 200: WebhookViewSchema } } }, async (request) => {
    const hook = await res.store.observability.getWebhook(callerOf(request).name);
    return { webhook: hook && { url: hook.url, format: hook.format } };
  });
  api.put('/api/v1/me/webhook', { schema: { summary: 'Set your alert webhook (job ended, failed, idle); members only within the server\'s --webhook-allow list', body: WebhookSchema, response: { 200: WebhookViewSchema, ...errors } } }, async (request) => {
    const caller = callerOf(request);
    const user = caller.name;
    // Members: only within the admins' allow-list, never to loopback, link-local or private addresses.
    await obs.alerts.policy.checkSet(request.body.url, caller.role);
    await res.store.observability.setWebhook({ user, url: request.body.url, format: request.body.format });
    obs.alerts.forget(user);
    return { webhook: { url: request.body.url, format: request.body.format } };
  });
  api.delete('/api/v1/me/webhook', { schema: { summary: 'Remove your alert webhook', response: { 200: WebhookViewSchema } } }, async (request) => {
    const user = callerOf(request).name;
    await res.store.observability.removeWebhook(user);
    obs.alerts.forget(user);
    return { webhook: null };
  });
}

function drainView(d: GpuDrain): DrainView {
  return { backend: d.backend, node: d.node, gpu: d.gpuIndex, reason: d.reason, source: d.source, at: new Date(d.at).toISOString() };
}

/** The GPU or node a drain request names, checked against the inventories. */
async function target(res: ServerResources, body: { backend?: string; node?: string; gpu?: number }): Promise<{ backend: string; node: string; gpuIndex: number | null }> {
  const backend = body.backend ? res.backends.find((b) => b.name === body.backend) : res.backends.find((b) => b.name === 'local') ?? res.backends[0];
  if (!backend) throw new StintError('NOT_FOUND', `no backend ${body.backend ?? ''}`.trim(), { field: 'backend' });
  const nodes = (await backend.inventory()).nodes;
  const node = body.node ? nodes.find((n) => n.name === body.node) : nodes.length === 1 ? nodes[0] : undefined;
  if (!node) throw new StintError(body.node ? 'NOT_FOUND' : 'INVALID_REQUEST', body.node ? `backend ${backend.name} has no node ${body.node}` : `backend ${backend.name} has ${nodes.length} nodes; name one with --node`, { field: 'node' });
  if (body.gpu !== undefined && !node.gpus.some((g) => g.index === body.gpu)) throw new StintError('NOT_FOUND', `node ${node.name} has no GPU ${body.gpu}`, { field: 'gpu' });
  return { backend: backend.name, node: node.name, gpuIndex: body.gpu ?? null };
}
