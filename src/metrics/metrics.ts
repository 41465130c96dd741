// stint's Prometheus metrics: one prom-client registry per server (never the global default), so
// two servers in one process (tests) never share series. Two kinds of series:
// - read at scrape time from the store and the live parts (jobs by state, GPU allocation, GPU
//   utilisation and memory, node and GPU health): a scrape costs one grouped query over the active
//   jobs, one over the GPU holds, and the inventories — never a pass over finished jobs, whose
//   counts per state are seeded once at start and then advanced by the transitions themselves;
// - fed by events (submissions, transitions, queue waits, scheduling passes, poll errors, webhook
//   deliveries) as counters and histograms.
// Metric names and labels are part of the product: docs/observability.md lists them.

import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ACTIVE_STATES, JOB_STATES, TERMINAL_STATES, type JobState } from '../core/job-state.js';
import type { Backend } from '../backends/backend.js';
import type { Clock } from '../core/clock.js';
import type { Store } from '../store/types.js';
import type { StateChange } from '../scheduler/transitions.js';

/** One GPU's latest reading, from the telemetry sampler. */
export interface GpuReading {
  backend: string;
  node: string;
  gpu: number;
  /** 0..1 */
  utilization: number;
  memoryUsedBytes: number;
  memoryTotalBytes: number;
}

export interface MetricsSources {
  store: Store;
  backends: readonly Backend[];
  clock: Clock;
  /** Latest GPU readings (none when no sampler runs). */
  readings: () => readonly GpuReading[];
  /** Whether a whole node is drained (GPU health comes from the inventory). */
  nodeDrained: (backend: string, node: string) => boolean;
}

const PENDING_OR_ACTIVE: readonly JobState[] = ['PENDING', ...ACTIVE_STATES];
const WAIT_BUCKETS = [0.1, 0.5, 1, 5, 15, 60, 300, 900, 1800, 3600, 4 * 3600, 12 * 3600, 24 * 3600, 3 * 24 * 3600];
const PASS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export class StintMetrics {
  readonly registry = new Registry();
  private readonly submissions: Counter;
  private readonly transitions: Counter<'from' | 'to'>;
  private readonly queueWait: Histogram;
  private readonly passSeconds: Histogram;
  private readonly pollErrors: Counter<'backend'>;
  private readonly webhooks: Counter<'outcome'>;
  private readonly idleStops: Counter<'action'>;
  /** Finished jobs per state and project: seeded by `init`, advanced by transitions. */
  private readonly finished = new Map<string, number>();

  constructor(private readonly src: MetricsSources) {
    const registers = [this.registry];
    this.submissions = new Counter({ name: 'stint_submissions_total', help: 'Jobs accepted by this server since it started', registers });
    this.transitions = new Counter({ name: 'stint_job_transitions_total', help: 'Job state changes applied by this server since it started', labelNames: ['from', 'to'], registers });
    this.queueWait = new Histogram({ name: 'stint_queue_wait_seconds', help: 'Time from submission to the first placement of a job', buckets: WAIT_BUCKETS, registers });
    this.passSeconds = new Histogram({ name: 'stint_schedule_pass_seconds', help: 'Duration of one scheduling pass (reconcile, place, launch)', buckets: PASS_BUCKETS, registers });
    this.pollErrors = new Counter({ name: 'stint_backend_poll_errors_total', help: 'Failed batched polls of a backend', labelNames: ['backend'], registers });
    this.webhooks = new Counter({ name: 'stint_webhook_deliveries_total', help: 'Webhook alert deliveries by outcome (delivered, retried, dropped)', labelNames: ['outcome'], registers });
    this.idleStops = new Counter({ name: 'stint_idle_actions_total', help: 'Idle-GPU policy actions taken (warn, stop)', labelNames: ['action'], registers });
    this.scrapeGauges(registers);
  }

  /** Seeds the finished-job counts (one grouped query at start). */
  async init(): Promise<void> {
    for (const row of await this.src.store.observability.countJobsByState(TERMINAL_STATES)) {
      this.finished.set(key(row.state, row.project), (this.finished.get(key(row.state, row.project)) ?? 0) + row.count);
    }
  }

  submitted(): void {
    this.submissions.inc();
  }

  passCompleted(seconds: number): void {
    this.passSeconds.observe(seconds);
  }

  pollFailed(backend: string): void {
    this.pollErrors.inc({ backend });
  }

  webhookDelivery(outcome: 'delivered' | 'retried' | 'dropped'): void {
    this.webhooks.inc({ outcome });
  }

  idleAction(action: 'warn' | 'stop'): void {
    this.idleStops.inc({ action });
  }

  /** Feed for JobTransitions.onChange. */
  changed(change: StateChange): void {
    this.transitions.inc({ from: change.from.toLowerCase(), to: change.to.toLowerCase() });
    const terminal = TERMINAL_STATES.includes(change.to);
    const firstStart = change.from === 'PENDING' && change.to === 'STARTING';
    if (!terminal && !firstStart) return;
    void this.src.store.getJob(change.jobId).then((job) => {
      if (!job) return;
      if (terminal) this.finished.set(key(change.to, job.project), (this.finished.get(key(change.to, job.project)) ?? 0) + 1);
      else if (job.attempt === 1) this.queueWait.observe(Math.max(0, (this.src.clock.now() - job.submittedAt) / 1000));
    }, () => undefined);
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }

  private scrapeGauges(registers: Registry[]): void {
    const src = this.src;
    const finished = this.finished;
    new Gauge({
      name: 'stint_jobs', help: 'Jobs by state and project (project "" for none)', labelNames: ['state', 'project'], registers,
      async collect() {
        this.reset();
        for (const state of JOB_STATES) this.set({ state: state.toLowerCase(), project: '' }, 0);
        for (const row of await src.store.observability.countJobsByState(PENDING_OR_ACTIVE)) this.inc({ state: row.state.toLowerCase(), project: row.project ?? '' }, row.count);
        for (const [k, n] of finished) {
          const [state, project] = JSON.parse(k) as [string, string];
          this.inc({ state: state.toLowerCase(), project }, n);
        }
      },
    });
    new Gauge({
      name: 'stint_gpu_allocated', help: '1 for each GPU held by a job, with the job, its owner and project', labelNames: ['backend', 'node', 'gpu', 'job', 'user', 'project'], registers,
      async collect() {
        this.reset();
        const holds = await src.store.listHolds();
        if (holds.length === 0) return;
        const jobs = new Map((await src.store.listJobs({ states: ACTIVE_STATES })).map((j) => [j.id, j]));
        for (const h of holds) {
          const job = jobs.get(h.jobId);
          this.set({ backend: h.backend, node: h.node, gpu: String(h.gpuIndex), job: String(h.jobId), user: job?.owner ?? '', project: job?.project ?? '' }, 1);
        }
      },
    });
    new Gauge({
      name: 'stint_gpu_utilization_ratio', help: 'Latest sampled GPU utilisation, 0 to 1', labelNames: ['backend', 'node', 'gpu'], registers,
      collect() {
        this.reset();
        for (const r of src.readings()) this.set({ backend: r.backend, node: r.node, gpu: String(r.gpu) }, r.utilization);
      },
    });
    new Gauge({
      name: 'stint_gpu_memory_used_bytes', help: 'Latest sampled GPU memory in use', labelNames: ['backend', 'node', 'gpu'], registers,
      collect() {
        this.reset();
        for (const r of src.readings()) this.set({ backend: r.backend, node: r.node, gpu: String(r.gpu) }, r.memoryUsedBytes);
      },
    });
    new Gauge({
      name: 'stint_gpu_memory_total_bytes', help: 'GPU memory size', labelNames: ['backend', 'node', 'gpu'], registers,
      async collect() {
        this.reset();
        for (const backend of src.backends) {
          for (const node of (await backend.inventory()).nodes) {
            for (const gpu of node.gpus) this.set({ backend: backend.name, node: node.name, gpu: String(gpu.index) }, gpu.memoryMb * 2 ** 20);
          }
        }
      },
    });
    new Gauge({
      name: 'stint_gpu_healthy', help: '1 if the GPU may take jobs, 0 if drained or failed', labelNames: ['backend', 'node', 'gpu'], registers,
      async collect() {
        this.reset();
        for (const backend of src.backends) {
          for (const node of (await backend.inventory()).nodes) {
            for (const gpu of node.gpus) this.set({ backend: backend.name, node: node.name, gpu: String(gpu.index) }, gpu.healthy ? 1 : 0);
          }
        }
      },
    });
    new Gauge({
      name: 'stint_node_healthy', help: '1 if the node may take jobs, 0 if drained or failed', labelNames: ['backend', 'node'], registers,
      async collect() {
        this.reset();
        for (const backend of src.backends) {
          for (const node of (await backend.inventory()).nodes) this.set({ backend: backend.name, node: node.name }, src.nodeDrained(backend.name, node.name) ? 0 : 1);
        }
      },
    });
  }
}

function key(state: JobState, project: string | null): string {
  return JSON.stringify([state, project ?? '']);
}
