// The access rules as a table: every role against every job-related action, and the admin,
// token and membership rules; each refusal is FORBIDDEN with its rule named.
import { describe, expect, it } from 'vitest';
import {
  assertAdmin,
  assertCanCancel,
  assertCanManageMembers,
  assertCanManageTokens,
  assertCanReadLogs,
  assertCanSubmit,
  canSeeJobDetails,
  jobGrant,
  RULES,
  type Caller,
  type JobOwnership,
} from './access.js';

let nextId = 1;
const caller = (name: string, role: Caller['role'], projects: Caller['projects'] = {}): Caller => ({ id: nextId++, name, role, projects });

const root = caller('root', 'admin');
const ann = caller('ann', 'member', { vision: 'member' });
const pi = caller('pi', 'member', { vision: 'admin' });
const bob = caller('bob', 'member');
const eve = caller('eve', 'viewer', { vision: 'admin' });

const annsVisionJob: JobOwnership = { id: 7, owner: 'ann', ownerId: ann.id, project: 'vision' };
const annsLoneJob: JobOwnership = { id: 8, owner: 'ann', ownerId: ann.id, project: null };
/** A later user who took the name of a removed ann: another id. */
const newAnn = caller('ann', 'member');

function refusal(fn: () => unknown): { code: string; message: string; details: Record<string, unknown> } | null {
  try {
    fn();
    return null;
  } catch (error) {
    return error as { code: string; message: string; details: Record<string, unknown> };
  }
}

describe('job rights', () => {
  const cases: Array<[string, Caller, JobOwnership, ReturnType<typeof jobGrant>]> = [
    ['an admin, any job', root, annsVisionJob, 'admin'],
    ['the owner', ann, annsLoneJob, 'owner'],
    ["an admin of the job's project", pi, annsVisionJob, 'project-admin'],
    ['a project admin, a job of no project', pi, annsLoneJob, null],
    ['another member', bob, annsVisionJob, null],
    ['a new user with the removed owner\'s name', newAnn, annsLoneJob, null],
    ['a viewer, even as project admin', eve, annsVisionJob, null],
  ];
  for (const [who, c, job, grant] of cases) {
    it(`${who}: ${grant ?? 'refused'}`, () => {
      expect(jobGrant(c, job)).toBe(grant);
      expect(canSeeJobDetails(c, job)).toBe(grant !== null);
      if (grant) {
        expect(assertCanReadLogs(c, job)).toBe(grant);
        expect(assertCanCancel(c, job)).toBe(grant);
        return;
      }
      const logs = refusal(() => assertCanReadLogs(c, job));
      expect(logs).toMatchObject({ code: 'FORBIDDEN', details: { rule: RULES.logs, caller: c.name, job: job.id, owner: 'ann' } });
      expect(logs?.message).toContain(`rule ${RULES.logs}`);
      expect(logs?.message).toMatch(new RegExp(`^${c.name} may not read the logs of job ${job.id}`));
      expect(refusal(() => assertCanCancel(c, job))).toMatchObject({ code: 'FORBIDDEN', details: { rule: RULES.cancel } });
    });
  }
  it('a viewer is told viewers only read the queue and GPUs', () => {
    expect(refusal(() => assertCanReadLogs(eve, annsVisionJob))?.message).toMatch(/eve is a viewer, and viewers may only read the queue and GPUs/);
  });
});

describe('submitting', () => {
  it('admins and members submit; viewers are refused with the rule', () => {
    expect(() => assertCanSubmit(root)).not.toThrow();
    expect(() => assertCanSubmit(ann)).not.toThrow();
    const refused = refusal(() => assertCanSubmit(eve));
    expect(refused).toMatchObject({ code: 'FORBIDDEN', details: { rule: 'submit.member-or-admin', role: 'viewer' } });
    expect(refused?.message).toMatch(/viewer.*cannot submit.*rule submit\.member-or-admin/);
  });
});

describe('admin, tokens, members', () => {
  it('only admins do admin work', () => {
    expect(() => assertAdmin(root, 'add users')).not.toThrow();
    for (const c of [ann, pi, eve]) {
      expect(refusal(() => assertAdmin(c, 'add users'))).toMatchObject({ code: 'FORBIDDEN', message: expect.stringMatching(/only admins may add users.*rule admin\.admin-only/), details: { rule: RULES.admin } });
    }
  });

  it('tokens: oneself (any role) or an admin', () => {
    expect(() => assertCanManageTokens(eve, 'eve')).not.toThrow();
    expect(() => assertCanManageTokens(root, 'ann')).not.toThrow();
    expect(refusal(() => assertCanManageTokens(ann, 'bob'))).toMatchObject({ code: 'FORBIDDEN', details: { rule: RULES.tokens, user: 'bob' } });
  });

  it("members of a project: admins and the project's admins (not a viewer)", () => {
    expect(() => assertCanManageMembers(root, 'vision')).not.toThrow();
    expect(() => assertCanManageMembers(pi, 'vision')).not.toThrow();
    for (const c of [ann, bob, eve]) {
      expect(refusal(() => assertCanManageMembers(c, 'vision'))).toMatchObject({ code: 'FORBIDDEN', details: { rule: RULES.members, project: 'vision' } });
    }
    expect(refusal(() => assertCanManageMembers(pi, 'audio'))).toMatchObject({ code: 'FORBIDDEN' });
  });
});
