// Composition of observability and resilience for one server: the metrics registry, the GPU
// sampler of each local backend's node (telemetry file for fake GPUs, else the vendor's tool),
// per-job telemetry, automatic health checks and drains, the idle-GPU policy, webhook alerts, and
// the scheduler hooks (pass timing; stopping and requeueing jobs on failed hardware or a full log
// volume before each pass). start.ts calls create → attach → start → stop; nothing here is a
// module-level singleton, so two servers in one process stay apart.

import type { FastifyInstance } from 'fastify';
import type { ObservabilityConfig } from '../config.js';
import type { Clock } from '../core/clock.js';
import type { IdleRule } from '../core/idle.js';
import type { Backend } from '../backends/backend.js';
import { runCommand } from '../backends/local/gpus/discover.js';
import type { Logger, Scheduler, SchedulerHooks } from '../scheduler/loop.js';
import type { JobTransitions } from '../scheduler/transitions.js';
import type { Store } from '../store/types.js';
import { AlertSender } from '../alerts/sender.js';
import { jobAlerts } from '../alerts/job-alerts.js';
import { DrainRegistry } from '../health/drains.js';
import { HealthEnforcer } from '../health/enforce.js';
import { guardedBackend } from '../health/guarded-backend.js';
import { HealthMonitor } from '../health/monitor.js';
import { GpuSampler } from '../telemetry/sampler.js';
import { chooseSource } from '../telemetry/sources.js';
import { JobTelemetryTracker } from '../telemetry/tracker.js';
import { IdleMonitor } from '../telemetry/idle-monitor.js';
import { StintMetrics } from './metrics.js';
import { registerMetricsRoute } from './route.js';

export interface ObservabilityDeps {
  settings: ObservabilityConfig;
  store: Store;
  backends: readonly Backend[];
  clock: Clock;
  transitions: JobTransitions;
  logger: Logger;
}

export class Observability {
  readonly metrics: StintMetrics;
  readonly drains: DrainRegistry;
  readonly alerts: AlertSender;
  readonly tracker: JobTelemetryTracker;
  /** The backends as the scheduler must see them (drained GPUs unhealthy, poll errors counted). */
  readonly backends: readonly Backend[];
  readonly hooks: SchedulerHooks;
  private idle: IdleMonitor | null = null;
  private readonly samplers: Array<{ sampler: GpuSampler; monitor: HealthMonitor; backend: string; node: string }> = [];
  private healthTimer: NodeJS.Timeout | null = null;
  private serverUrl = '';

  private constructor(private readonly deps: ObservabilityDeps) {
    const { settings, store, clock, logger } = deps;
    this.alerts = new AlertSender({
      store: store.observability, logger, admins: settings.adminWebhooks, allow: settings.webhookAllow, server: () => this.serverUrl, onOutcome: (o) => this.metrics.webhookDelivery(o),
      userOf: async (name) => {
        const user = await store.users.getUser(name);
        return user && user.removedAt === null ? { id: user.id, role: user.role } : null;
      },
    });
    this.drains = new DrainRegistry(store.observability, clock, this.alerts);
    this.backends = deps.backends.map((b) => guardedBackend(b, this.drains, (name) => this.metrics.pollFailed(name)));
    this.metrics = new StintMetrics({
      store, backends: this.backends, clock,
      readings: () => this.samplers.flatMap((s) => s.sampler.readings()),
      nodeDrained: (backend, node) => this.drains.nodeDrained(backend, node),
    });
    const idleThreshold = (settings.idlePolicy?.thresholdPercent ?? 5) / 100;
    this.tracker = new JobTelemetryTracker({ store, clock, intervalMs: settings.telemetryIntervalMs, idleThreshold, saveEveryMs: Math.max(30_000, settings.telemetryIntervalMs) });
    const enforcer = new HealthEnforcer({ store, backends: deps.backends, clock, transitions: deps.transitions, logger, drains: this.drains, alerts: this.alerts, minFreeBytes: 64 * 1024, diskCheckMs: 2000 });
    this.hooks = {
      beforePass: () => enforcer.beforePass(),
      passCompleted: (seconds) => this.metrics.passCompleted(seconds),
    };
    deps.transitions.onChange((change) => this.metrics.changed(change));
    deps.transitions.onChange(jobAlerts(store, this.alerts, () => clock.now()));
  }

  static async create(deps: ObservabilityDeps): Promise<Observability> {
    const o = new Observability(deps);
    await o.drains.load();
    await o.metrics.init();
    for (const backend of deps.backends) {
      if (backend.kind !== 'local') continue;
      for (const node of (await backend.inventory()).nodes) {
        const source = chooseSource({ vendor: node.gpus[0]?.vendor, file: deps.settings.gpuTelemetryFile, run: runCommand });
        if (!source || node.gpus.length === 0) continue;
        const sampler = new GpuSampler({ backend: backend.name, node: node.name, source, intervalMs: deps.settings.telemetryIntervalMs, clock: deps.clock, logger: deps.logger });
        const gpus = async () => (await backend.inventory()).nodes.find((n) => n.name === node.name)?.gpus ?? [];
        const monitor = new HealthMonitor({ drains: o.drains, logger: deps.logger, gpus, command: deps.settings.healthCommand ? { command: deps.settings.healthCommand, timeoutMs: 30_000 } : null });
        sampler.onSample((set) => monitor.onSample(set));
        sampler.onSample(async (set) => {
          const uses = await o.tracker.observe(set);
          await o.idle?.observe(uses);
        });
        o.samplers.push({ sampler, monitor, backend: backend.name, node: node.name });
      }
    }
    return o;
  }

  /** Routes (/metrics and the observability API) and the scheduler the idle policy stops jobs through. */
  attach(app: FastifyInstance, scheduler: Scheduler, register: (app: FastifyInstance, o: Observability) => void): void {
    const { store, clock, logger, settings } = this.deps;
    this.idle = new IdleMonitor({ store, clock, logger, alerts: this.alerts, serverDefault: settings.idlePolicy, wake: () => scheduler.wake(), onAction: (a) => this.metrics.idleAction(a) });
    registerMetricsRoute(app, this.metrics, settings.metricsToken);
    register(app, this);
  }

  idleMonitor(): IdleMonitor | null {
    return this.idle;
  }

  /** The server's default idle-GPU rule (--idle-policy), if on. */
  idleDefault(): IdleRule | null {
    return this.deps.settings.idlePolicy;
  }

  start(url: string): void {
    this.serverUrl = url;
    for (const s of this.samplers) s.sampler.start();
    if (this.deps.settings.healthCommand && this.samplers.length > 0) {
      const run = () => void Promise.all(this.samplers.map((s) => s.monitor.runCommand(s.backend, s.node)));
      this.healthTimer = setInterval(run, this.deps.settings.healthIntervalMs);
      this.healthTimer.unref();
      run();
    }
  }

  /** Takes a sample on every node now (tests, and `stint admin` actions that want fresh data). */
  async sampleNow(): Promise<void> {
    await Promise.all(this.samplers.map((s) => s.sampler.sampleNow()));
  }

  async stop(): Promise<void> {
    if (this.healthTimer) clearInterval(this.healthTimer);
    await Promise.all(this.samplers.map((s) => s.sampler.stop()));
    await this.tracker.flush().catch(() => undefined);
    await this.alerts.close();
  }
}
