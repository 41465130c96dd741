// Applies the idle-GPU policy (src/core/idle.ts) to running jobs after every telemetry sample:
// tracks since when each attempt's GPUs have all been below its threshold, warns the owner (alert
// to their webhook, a log line, a metric) and, when the policy says so, stops the job through the
// scheduler's cancel path with the reason as its end reason. Invariants: a job is stopped once;
// any GPU reading above the threshold resets the idle clock and the warning; after a server
// restart the idle clock starts again (a job is never stopped on time it was not observed).

import { idleAction, ruleFor, watches, type IdleRule } from '../core/idle.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../scheduler/loop.js';
import type { Store } from '../store/types.js';
import type { AlertSender } from '../alerts/sender.js';
import type { AttemptUse } from './tracker.js';

export interface IdleState {
  idleSince: number | null;
  warnedAt: number | null;
  stoppedAt: number | null;
  rule: IdleRule;
}

const RULES_CACHE_MS = 5000;

export class IdleMonitor {
  private readonly states = new Map<string, IdleState>();
  private rules: { list: IdleRule[]; at: number } = { list: [], at: Number.NEGATIVE_INFINITY };

  constructor(
    private readonly o: { store: Store; clock: Clock; logger: Logger; alerts: AlertSender | null; serverDefault: IdleRule | null; wake: () => void; onAction?: (action: 'warn' | 'stop') => void },
  ) {}

  /** The idle state of a job's current attempt, if the policy watches it. */
  stateOf(jobId: number): IdleState | null {
    for (const [key, state] of this.states) if (key.startsWith(`${jobId}.`)) return state;
    return null;
  }

  /** Rules changed (an admin set one): read them again at the next sample. */
  invalidate(): void {
    this.rules.at = Number.NEGATIVE_INFINITY;
  }

  async observe(uses: readonly AttemptUse[]): Promise<void> {
    const now = this.o.clock.now();
    const live = new Set(uses.map((u) => `${u.jobId}.${u.attempt}`));
    for (const key of this.states.keys()) if (!live.has(key)) this.states.delete(key);
    if (uses.length === 0) return;
    const rules = await this.currentRules(now);
    const jobs = new Map((await this.o.store.listJobs({ states: ['RUNNING'] })).map((j) => [j.id, j]));
    for (const use of uses) {
      const job = jobs.get(use.jobId);
      const key = `${use.jobId}.${use.attempt}`;
      const rule = job ? ruleFor(rules, job.project, this.o.serverDefault) : null;
      if (!job || !rule || !watches(rule, job.spec.interactive === true)) {
        this.states.delete(key);
        continue;
      }
      const state = this.states.get(key) ?? { idleSince: null, warnedAt: null, stoppedAt: null, rule };
      state.rule = rule;
      this.states.set(key, state);
      if (use.maxUtilization * 100 >= rule.thresholdPercent) {
        state.idleSince = null;
        state.warnedAt = null;
        continue;
      }
      state.idleSince ??= use.at;
      if (state.stoppedAt !== null) continue;
      const action = idleAction(rule, state.idleSince, state.warnedAt, now);
      if (action === 'none') continue;
      const idleFor = Math.round((now - state.idleSince) / 1000);
      const where = rule.project === '*' ? 'the default idle-GPU policy' : `the idle-GPU policy of project ${rule.project}`;
      const label = `job ${job.id}${job.name ? ` (${job.name})` : ''}`;
      if (action === 'warn') {
        state.warnedAt = now;
        const stop = rule.stopAfterSeconds === null ? 'it will not be stopped' : `it will be stopped after ${rule.stopAfterSeconds} s idle`;
        this.o.logger.warn({ job: job.id, idleSeconds: idleFor }, 'idle GPUs: owner warned');
        this.o.alerts?.toOwner(job.owner, job.ownerId, { kind: 'job_idle', severity: 'warning', title: `${label} has idle GPUs`, text: `its GPUs have been below ${rule.thresholdPercent}% for ${idleFor} s (${where}); ${stop}`, at: now, job: { id: job.id, name: job.name, owner: job.owner, project: job.project, state: job.state, exitCode: null, reason: job.reason } });
      } else {
        state.stoppedAt = now;
        await this.o.store.requestCancel(job.id, now, `stopped by ${where}: GPUs below ${rule.thresholdPercent}% for ${idleFor} s`);
        this.o.logger.warn({ job: job.id, idleSeconds: idleFor }, 'idle GPUs: job stopped');
        this.o.wake();
      }
      this.o.onAction?.(action);
    }
  }

  private async currentRules(now: number): Promise<IdleRule[]> {
    if (now - this.rules.at >= RULES_CACHE_MS) this.rules = { list: await this.o.store.observability.listIdlePolicies(), at: now };
    return this.rules.list;
  }
}
