// The cgroups of a local backend's attempts: `<hierarchy>/stint/<hash of the jobs dir>/job-<id>-<n>`
// in every hierarchy the host has (cgroup v1 controllers, or the one v2 tree), so test servers
// with different job directories never share one. Creates them with the attempt's limits, kills
// every process in an attempt's subtree (freeze, SIGKILL each pid, thaw; cgroup.kill on v2), reads
// the evidence an ended attempt leaves (memory peak, limit, oom kills over the subtree: a container
// engine makes child cgroups under the attempt's) and removes them.
// Must hold: everything here is root-owned kernel state that a job can read but not write; no path
// comes from the job; every step is idempotent, so a server restarted mid-cleanup can repeat it.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { type CgroupLayout, cleanupRoots, hierarchyRoots, V2_CONTROLLERS } from './layout.js';
import { type AttemptLimits, cgroupDir, limitWrites, parseCpuList } from './limits.js';

export interface CgroupEvidence {
  peakBytes: number | null;
  limitBytes: number | null;
  /** OOM kills anywhere in the attempt's subtree (while its cgroups existed). */
  oomKills: number;
  /** Times the attempt's own cgroup hit its memory limit (v1 memory.failcnt + memsw's, which hits first; v2 memory.events `max`). */
  limitHits?: number;
}

/** The part of the path every server with this jobs directory uses: `/stint/<12 hex>`. */
export function cgroupBase(jobsDir: string): string {
  return `/stint/${createHash('sha256').update(jobsDir).digest('hex').slice(0, 12)}`;
}

export function attemptCgroupName(jobId: number, attempt: number): string {
  return `job-${jobId}-${attempt}`;
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

function readNumber(path: string): number | null {
  const text = readText(path);
  if (text === null) return null;
  const value = Number(text.trim());
  return Number.isFinite(value) ? value : null;
}

/** `key N` lines (memory.oom_control, memory.events) → N of `key`. */
function keyed(text: string | null, key: string): number {
  const match = text === null ? null : new RegExp(`^${key} (\\d+)$`, 'm').exec(text);
  return match ? Number(match[1]) : 0;
}

/** The attempt's directory and every cgroup below it, deepest first. */
function subtree(dir: string): string[] {
  let entries: string[] = [];
  try {
    entries = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => `${dir}/${e.name}`);
  } catch {
    return [];
  }
  return [...entries.flatMap(subtree), dir];
}

export class AttemptCgroups {
  constructor(
    readonly layout: CgroupLayout,
    /** `/stint/<hash>`, relative to each hierarchy's root. */
    readonly base: string,
  ) {}

  /** The attempt's path relative to each hierarchy's root (a container's cgroup parent). */
  relative(jobId: number, attempt: number): string {
    return `${this.base}/${attemptCgroupName(jobId, attempt)}`;
  }

  /** Makes `/stint` and `/stint/<hash>`; throws (with the path) when the host refuses. */
  ensureBase(): void {
    const parts = this.base.split('/').filter(Boolean);
    for (const root of hierarchyRoots(this.layout)) {
      let path = root;
      for (const part of parts) {
        const parent = path;
        path = `${path}/${part}`;
        if (this.layout.version === 'v2') this.enableV2(parent);
        if (!existsSync(path)) mkdirSync(path, { mode: 0o755 });
        if (this.layout.version === 'v1' && root === this.layout.mounts.cpuset) inheritCpuset(parent, path);
      }
      if (this.layout.version === 'v2') this.enableV2(path);
    }
  }

  private enableV2(dir: string): void {
    if (this.layout.version !== 'v2') return;
    const wanted = V2_CONTROLLERS.filter((c) => (this.layout as { controllers: string[] }).controllers.includes(c));
    const enabled = (readText(`${dir}/cgroup.subtree_control`) ?? '').split(/\s+/);
    const missing = wanted.filter((c) => !enabled.includes(c));
    if (missing.length > 0) writeFileSync(`${dir}/cgroup.subtree_control`, missing.map((c) => `+${c}`).join(' '));
  }

  /** The CPUs and memory nodes stint's attempts may use (the base's, i.e. the parent's). */
  allowed(): { cpus: number[]; mems: string | null } {
    const dir = cgroupDir(this.layout, this.base, 'cpuset');
    if (dir === null) return { cpus: [], mems: null };
    const cpus = readText(`${dir}/cpuset.effective_cpus`) ?? readText(`${dir}/cpuset.cpus`) ?? '';
    const mems = readText(`${dir}/cpuset.effective_mems`) ?? readText(`${dir}/cpuset.mems`);
    return { cpus: parseCpuList(cpus), mems: mems === null || mems.trim() === '' ? null : mems.trim() };
  }

  /** How many running stint attempts (of any server on this host) hold each CPU. */
  cpuUse(): Map<number, number> {
    const used = new Map<number, number>();
    const stint = cgroupDir(this.layout, '/stint', 'cpuset');
    if (stint === null) return used;
    for (const server of safeDirs(stint)) {
      for (const attempt of safeDirs(`${stint}/${server}`)) {
        if (!attempt.startsWith('job-')) continue;
        for (const cpu of parseCpuList(readText(`${stint}/${server}/${attempt}/cpuset.cpus`) ?? '')) used.set(cpu, (used.get(cpu) ?? 0) + 1);
      }
    }
    return used;
  }

  /** Makes the attempt's cgroups and sets its limits (an old one of the same name is removed first). */
  async create(relative: string, limits: AttemptLimits): Promise<void> {
    if (this.exists(relative)) {
      await this.kill(relative);
      await this.remove(relative);
    }
    for (const root of hierarchyRoots(this.layout)) mkdirSync(`${root}${relative}`, { mode: 0o755 });
    for (const write of limitWrites(this.layout, relative, limits)) {
      if (write.optional && !existsSync(write.path)) continue;
      writeFileSync(write.path, write.value);
    }
  }

  /** Removes `/stint/<hash>` where no attempt's cgroup is left in it (a server closing); never throws. */
  removeBase(): void {
    for (const root of cleanupRoots(this.layout)) {
      try {
        rmdirSync(`${root}${this.base}`);
      } catch {
        // attempts still running (or another server of this jobs dir): it stays
      }
    }
  }

  exists(relative: string): boolean {
    return cleanupRoots(this.layout).some((root) => existsSync(`${root}${relative}`));
  }

  /** Memory peak, limit and oom kills of the attempt's subtree; null when its cgroup is gone. */
  evidence(relative: string): CgroupEvidence | null {
    const dir = cgroupDir(this.layout, relative, 'memory');
    if (dir === null || !existsSync(dir)) return null;
    if (this.layout.version === 'v2') {
      const max = readText(`${dir}/memory.max`)?.trim();
      const events = readText(`${dir}/memory.events`);
      return { peakBytes: readNumber(`${dir}/memory.peak`), limitBytes: max === undefined || max === 'max' ? null : Number(max), oomKills: keyed(events, 'oom_kill'), limitHits: keyed(events, 'max') };
    }
    const limit = readNumber(`${dir}/memory.limit_in_bytes`);
    // v1 counts an oom kill in the victim's own cgroup only: add up the subtree.
    const oomKills = subtree(dir).reduce((sum, d) => sum + keyed(readText(`${d}/memory.oom_control`), 'oom_kill'), 0);
    return { peakBytes: readNumber(`${dir}/memory.max_usage_in_bytes`), limitBytes: limit !== null && limit < 2 ** 62 ? limit : null, oomKills, limitHits: (readNumber(`${dir}/memory.failcnt`) ?? 0) + (readNumber(`${dir}/memory.memsw.failcnt`) ?? 0) };
  }

  /** SIGKILL to every process of the attempt's subtree, escapees of its process group included. */
  async kill(relative: string): Promise<void> {
    if (this.layout.version === 'v2') {
      const dir = this.layout.root + relative;
      if (existsSync(`${dir}/cgroup.kill`)) {
        writeFileSync(`${dir}/cgroup.kill`, '1');
        return;
      }
      await this.killFrozen(relative, `${dir}/cgroup.freeze`, '1', '0');
      return;
    }
    const freezer = cgroupDir(this.layout, relative, 'freezer');
    await this.killFrozen(relative, freezer === null ? null : `${freezer}/freezer.state`, 'FROZEN', 'THAWED');
  }

  private async killFrozen(relative: string, freezeFile: string | null, frozen: string, thawed: string): Promise<void> {
    const canFreeze = freezeFile !== null && existsSync(freezeFile);
    for (let round = 0; round < 20; round++) {
      if (this.pids(relative).length === 0) break;
      // Frozen first, then listed: a frozen process cannot exit, so no pid read here can be
      // reused by another process before its SIGKILL.
      if (canFreeze) await freeze(freezeFile, frozen);
      const pids = this.pids(relative);
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone already
        }
      }
      if (canFreeze) writeFileSync(freezeFile, thawed);
      await sleep(5);
    }
  }

  /** Every pid in the attempt's subtree, over all hierarchies. */
  pids(relative: string): number[] {
    const pids = new Set<number>();
    for (const root of cleanupRoots(this.layout)) {
      for (const dir of subtree(`${root}${relative}`)) {
        for (const line of (readText(`${dir}/cgroup.procs`) ?? '').split('\n')) if (/^\d+$/.test(line)) pids.add(Number(line));
      }
    }
    return [...pids];
  }

  /** Removes the attempt's cgroups, deepest first; waits briefly for killed processes to be gone. */
  async remove(relative: string): Promise<void> {
    for (const root of cleanupRoots(this.layout)) {
      for (const dir of subtree(`${root}${relative}`)) {
        for (let tries = 0; ; tries++) {
          try {
            rmdirSync(dir);
            break;
          } catch (error) {
            const code = (error as NodeJS.ErrnoException).code;
            if (code === 'ENOENT') break;
            if (code !== 'EBUSY' || tries >= 200) throw error;
            await sleep(10);
          }
        }
      }
    }
  }
}

function safeDirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return [];
  }
}

/** A new v1 cpuset is empty: it takes its parent's CPUs and memory nodes. */
function inheritCpuset(parent: string, dir: string): void {
  for (const file of ['cpuset.cpus', 'cpuset.mems']) {
    if ((readText(`${dir}/${file}`) ?? '').trim() === '') writeFileSync(`${dir}/${file}`, (readText(`${parent}/${file}`) ?? '').trim());
  }
}

async function freeze(file: string, frozen: string): Promise<void> {
  writeFileSync(file, frozen);
  // v1 passes through FREEZING; v2's cgroup.freeze reads back its wish at once (events say when done).
  for (let i = 0; i < 100 && frozen === 'FROZEN' && readText(file)?.trim() !== 'FROZEN'; i++) await sleep(2);
}
