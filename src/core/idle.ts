// The idle-GPU ("zombie") policy, pure. A job is idle while even its busiest GPU is below the
// policy's threshold; after `warnAfterSeconds` of that its owner is warned, after
// `stopAfterSeconds` (if set) it is stopped. Which policy: the job's project's own, else the '*'
// default stored by an admin, else the server's default. Which jobs: by default only interactive
// ones (`interactive: true` in the task file); a policy with appliesTo 'all' watches batch jobs too.

export interface IdleRule {
  project: string;
  thresholdPercent: number;
  warnAfterSeconds: number;
  stopAfterSeconds: number | null;
  appliesTo: 'interactive' | 'all';
}

export const DEFAULT_IDLE_RULE: Readonly<IdleRule> = Object.freeze({ project: '*', thresholdPercent: 5, warnAfterSeconds: 30 * 60, stopAfterSeconds: 2 * 3600, appliesTo: 'interactive' });

export function ruleFor(rules: readonly IdleRule[], project: string | null, serverDefault: IdleRule | null): IdleRule | null {
  return rules.find((r) => project !== null && r.project === project) ?? rules.find((r) => r.project === '*') ?? serverDefault;
}

export function watches(rule: IdleRule, interactive: boolean): boolean {
  return rule.appliesTo === 'all' || interactive;
}

export type IdleAction = 'none' | 'warn' | 'stop';

/** What to do now about a job idle since `idleSince` (null: busy), warned at `warnedAt` (null: not yet). */
export function idleAction(rule: IdleRule, idleSince: number | null, warnedAt: number | null, now: number): IdleAction {
  if (idleSince === null) return 'none';
  const idleSeconds = (now - idleSince) / 1000;
  if (rule.stopAfterSeconds !== null && idleSeconds >= rule.stopAfterSeconds) return 'stop';
  if (warnedAt === null && idleSeconds >= rule.warnAfterSeconds) return 'warn';
  return 'none';
}

/** Reads `threshold=5,warn=30m,stop=2h,applies=interactive` (stop=never: warn only); durations in s, m, h. */
export function parseIdleRule(text: string, project = '*'): IdleRule | string {
  const rule: IdleRule = { ...DEFAULT_IDLE_RULE, project };
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [key, value = ''] = part.split('=').map((s) => s.trim()) as [string, string?];
    if (key === 'threshold') {
      const n = Number(value.replace(/%$/, ''));
      if (!Number.isFinite(n) || n <= 0 || n > 100) return `threshold: "${value}" is not a percentage from 0 to 100`;
      rule.thresholdPercent = n;
    } else if (key === 'warn' || key === 'stop') {
      const seconds = value === 'never' && key === 'stop' ? null : seconds_(value);
      if (seconds === undefined) return `${key}: "${value}" is not a duration such as 90s, 30m or 2h${key === 'stop' ? ' (or never)' : ''}`;
      if (key === 'warn') rule.warnAfterSeconds = seconds!;
      else rule.stopAfterSeconds = seconds;
    } else if (key === 'applies') {
      if (value !== 'interactive' && value !== 'all') return `applies: "${value}" must be interactive or all`;
      rule.appliesTo = value;
    } else {
      return `"${key}" is not a setting; expected threshold, warn, stop, applies`;
    }
  }
  if (rule.stopAfterSeconds !== null && rule.stopAfterSeconds < rule.warnAfterSeconds) return 'stop must not come before warn';
  return rule;
}

function seconds_(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h)?$/.exec(text);
  if (!m) return undefined;
  return Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1);
}
