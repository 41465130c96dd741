// Webhook delivery: alerts go to a job owner's webhook (job ended, failed, idle) and to the admins'
// webhooks (drains, node failures). Delivery runs in the background: `send*` only queues and never
// waits, so the scheduler is never slowed by a slow or dead receiver. Each delivery is retried with
// exponential backoff (attempts and delays configurable) and then dropped with a log line; a
// 2xx answer is success. Invariants: at most `maxInFlight` deliveries at once (more wait in the
// queue, bounded by `maxQueued`, the oldest dropped first); close() stops retries and waits only
// for requests already sent, each bounded by the request timeout. A target owned by anyone but an
// admin is checked again when sent (allow-list, and every address it resolves to: see
// address-policy.ts and deliver.ts); a refused address or a redirect is dropped without retry.

import type { Logger } from '../scheduler/loop.js';
import type { ObservabilityStore } from '../store/observability.js';
import { WebhookPolicy, type Role } from './address-policy.js';
import { deliver } from './deliver.js';
import { alertBody, type Alert, type WebhookFormat } from './payload.js';

export interface WebhookTarget {
  url: string;
  format: WebhookFormat;
}

export interface AlertSenderOptions {
  store: ObservabilityStore;
  logger: Logger;
  admins: readonly WebhookTarget[];
  /** `--webhook-allow` entries: where members' webhooks may point. */
  allow?: readonly string[];
  /** A user's current role (null: no such user), read when their alert is sent. */
  /** The active user of a name (its id and role), or null when none: alerts go by user id. */
  userOf?: (user: string) => Promise<{ id: number; role: Role } | null>;
  /** Shown in every alert (the server's URL, known once it listens). */
  server: () => string;
  attempts?: number;
  firstDelayMs?: number;
  timeoutMs?: number;
  maxInFlight?: number;
  maxQueued?: number;
  onOutcome?: (outcome: 'delivered' | 'retried' | 'dropped') => void;
}

interface Delivery {
  target: WebhookTarget;
  /** Set by an admin (their own webhook or --admin-webhook): any address may be reached. */
  trusted: boolean;
  alert: Alert;
  attempt: number;
}

const USER_CACHE_MS = 5000;

export class AlertSender {
  private readonly queue: Delivery[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly userHooks = new Map<string, { target: WebhookTarget | null; at: number }>();
  private closed = false;
  /** Whether any user has a webhook (refreshed every 5 s), so job ends cost nothing when none does. */
  private ownerHooks = { any: true, at: Number.NEGATIVE_INFINITY };
  readonly policy: WebhookPolicy;

  constructor(private readonly options: AlertSenderOptions) {
    this.policy = new WebhookPolicy(options.allow ?? []);
  }

  toAdmins(alert: Alert): void {
    for (const target of this.options.admins) this.enqueue({ target, alert, attempt: 1, trusted: true });
  }

  /** Alerts a job's owner; `ownerId` is the job's, so a removed user's name reused by another gets nothing. */
  toOwner(owner: string, ownerId: number | null, alert: Alert): void {
    void this.ownerDelivery(owner, ownerId, alert).then(
      (delivery) => delivery && this.enqueue(delivery),
      (error: unknown) => this.options.logger.warn({ err: error, owner }, 'could not read the owner\'s webhook'),
    );
  }

  /** The owner's webhook, if they have one that their current role and the allow-list permit. */
  private async ownerDelivery(owner: string, ownerId: number | null, alert: Alert): Promise<Delivery | null> {
    const target = await this.ownerTarget(owner);
    if (!target) return null;
    const user = this.options.userOf ? await this.options.userOf(owner) : { id: ownerId, role: 'member' as const };
    if (user === null || ownerId === null || user.id !== ownerId) return null;
    const role = user.role;
    const rule = role === 'admin' ? null : this.policy.ruleProblem(new URL(target.url));
    if (rule) {
      this.options.onOutcome?.('dropped');
      this.options.logger.warn({ url: redact(target.url), owner, kind: alert.kind, problem: rule }, 'webhook alert dropped: the owner\'s webhook is no longer allowed');
      return null;
    }
    return { target, alert, attempt: 1, trusted: role === 'admin' };
  }

  /** Forgets a user's cached webhook (after they change it). */
  forget(owner: string): void {
    this.userHooks.delete(owner);
    this.ownerHooks = { any: true, at: Date.now() };
  }

  /** False when certainly no user has a webhook (cached; a refresh runs in the background). */
  ownersMayListen(): boolean {
    if (Date.now() - this.ownerHooks.at >= USER_CACHE_MS) {
      this.ownerHooks.at = Date.now();
      void this.options.store.countWebhooks().then((n) => (this.ownerHooks.any = n > 0), () => undefined);
    }
    return this.ownerHooks.any;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.queue.length = 0;
    await Promise.allSettled([...this.inFlight]);
  }

  private async ownerTarget(owner: string): Promise<WebhookTarget | null> {
    const cached = this.userHooks.get(owner);
    if (cached && Date.now() - cached.at < USER_CACHE_MS) return cached.target;
    const hook = await this.options.store.getWebhook(owner);
    const target = hook ? { url: hook.url, format: hook.format } : null;
    this.userHooks.set(owner, { target, at: Date.now() });
    return target;
  }

  private enqueue(delivery: Delivery): void {
    if (this.closed) return;
    this.queue.push(delivery);
    const max = this.options.maxQueued ?? 1000;
    while (this.queue.length > max) {
      this.queue.shift();
      this.options.onOutcome?.('dropped');
    }
    this.pump();
  }

  private pump(): void {
    while (!this.closed && this.inFlight.size < (this.options.maxInFlight ?? 4) && this.queue.length > 0) {
      const delivery = this.queue.shift()!;
      const sending = this.post(delivery).finally(() => {
        this.inFlight.delete(sending);
        this.pump();
      });
      this.inFlight.add(sending);
    }
  }

  private async post(d: Delivery): Promise<void> {
    const { logger, timeoutMs = 5000, attempts = 5, firstDelayMs = 1000 } = this.options;
    const body = JSON.stringify(alertBody(d.alert, d.target.format, this.options.server()));
    const check = d.trusted ? undefined : (address: string, port: number) => this.policy.addressProblem(address, port);
    const result = await deliver(d.target.url, body, { timeoutMs, check });
    if (result.ok) {
      this.options.onOutcome?.('delivered');
      return;
    }
    const problem = result.problem ?? 'failed';
    if (d.attempt >= attempts || this.closed || result.permanent) {
      this.options.onOutcome?.('dropped');
      logger.warn({ url: redact(d.target.url), kind: d.alert.kind, attempts: d.attempt, problem }, result.permanent ? 'webhook alert dropped: a retry cannot help' : 'webhook alert dropped after its last attempt');
      return;
    }
    this.options.onOutcome?.('retried');
    const delay = firstDelayMs * 2 ** (d.attempt - 1);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.enqueue({ ...d, attempt: d.attempt + 1 });
    }, delay);
    timer.unref();
    this.timers.add(timer);
  }
}

/** Webhook URLs often carry a secret path (Slack's do): log only the host. */
function redact(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'an invalid URL';
  }
}
