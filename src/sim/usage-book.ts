// Fair-share usage in the simulator: each (tenant, user) member's decayed GPU-hours, charged with
// the core's exact interval integral (`chargeInterval`) every time its held rate changes, so the
// table handed to the fair-share code equals what `usageAt` would compute from every attempt.
// Always: a member's accumulator is charged up to `at` with the rate it held since the last change.

import { DEFAULT_USAGE_CONFIG, advance, billingRate, chargeInterval, type DecayedUsage, type UsageTable } from '../core/fairshare/index.js';

interface Member {
  project: string;
  user: string;
  usage: DecayedUsage;
  rate: number;
  at: number;
}

export class UsageBook {
  private readonly members = new Map<string, Member>();
  private readonly halfLifeMs = DEFAULT_USAGE_CONFIG.halfLifeMs;

  /** The member starts (+gpus) or stops (-gpus) holding GPUs at `nowMs`. */
  hold(project: string, user: string, gpus: number, nowMs: number): void {
    const member = this.member(project, user, nowMs);
    member.usage = chargeInterval(member.usage, member.rate, member.at, nowMs, this.halfLifeMs);
    member.at = nowMs;
    member.rate = Math.max(0, member.rate + billingRate({ gpus, cpus: 0, memoryGb: 0 }, DEFAULT_USAGE_CONFIG.billing));
  }

  /** Every member's usage at `nowMs`, with what it holds now as its held rate. */
  table(nowMs: number): UsageTable {
    const table: UsageTable = new Map();
    for (const m of this.members.values()) {
      const charged = chargeInterval(m.usage, m.rate, m.at, nowMs, this.halfLifeMs);
      let users = table.get(m.project);
      if (!users) table.set(m.project, (users = new Map()));
      users.set(m.user, { consumed: advance(charged, nowMs, this.halfLifeMs).value, heldRate: m.rate });
    }
    return table;
  }

  private member(project: string, user: string, nowMs: number): Member {
    const key = `${project}\u0000${user}`;
    let member = this.members.get(key);
    if (!member) this.members.set(key, (member = { project, user, usage: { value: 0, atMs: nowMs }, rate: 0, at: nowMs }));
    return member;
  }
}
