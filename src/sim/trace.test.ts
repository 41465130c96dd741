// Trace readers, quota files and fairness helpers on small hand-written inputs.
import { describe, expect, it } from 'vitest';
import { parseClusterShape, parseQuotas } from './cluster-spec.js';
import { jain, waterFill } from './fairness.js';
import { parseColumnMap, readCsv, readDirlab, readPhilly } from './trace.js';

describe('readPhilly', () => {
  it('reads jobs relative to the first submission and reports bad rows without failing', () => {
    const text = [
      'timestamp,duration,num_gpus,gpu_time,cluster',
      '2017-10-09 07:01:55,66.0,1,66.0,11cb48',
      '2017-10-09 06:13:03,2951.0,2,5902.0,6214e9',
      '2017-10-09 06:14:00,-5,1,0,6214e9',
      'yesterday,10,1,10,6214e9',
      '2017-10-09 06:15:00,10,1.5,15,6214e9',
      '',
    ].join('\n');
    const trace = readPhilly(text);
    expect(trace.jobs).toEqual([
      { id: 1, submit: 0, duration: 2951, gpus: 2, tenant: '6214e9', user: '6214e9' },
      { id: 2, submit: 48 * 60 + 52, duration: 66, gpus: 1, tenant: '11cb48', user: '11cb48' },
    ]);
    expect(trace.epoch).toBe(Date.parse('2017-10-09T06:13:03Z') / 1000);
    expect(trace.bad).toEqual([
      { row: 4, reason: 'duration must be a number > 0' },
      { row: 5, reason: 'submit time is not a number or a date' },
      { row: 6, reason: 'GPUs must be a whole number ≥ 1' },
    ]);
  });

  it('names the missing column', () => {
    expect(() => readPhilly('timestamp,duration\n')).toThrow(/no column "num_gpus"/);
  });
});

describe('readDirlab', () => {
  it('adds up the intervals into submit times; users are the tenants', () => {
    const text = 'u_id,user,gpu_num,cpu_num,node_num,interval,run_time,wall_time,new_status\n0,1,1,0,1,0,100,0,Killed\n1,2,8,0,4,50,20,0,Failed\n2,1,1,0,1,x,5,0,Pass\n3,1,2,0,1,25,7,0,Pass\n';
    const trace = readDirlab(text);
    expect(trace.jobs.map((j) => [j.submit, j.duration, j.gpus, j.tenant])).toEqual([[0, 100, 1, 'user1'], [50, 20, 8, 'user2'], [75, 7, 2, 'user1']]);
    expect(trace.bad).toEqual([{ row: 4, reason: 'interval must be a number ≥ 0' }]);
  });
});

describe('readCsv and --columns', () => {
  it('maps columns by name', () => {
    const map = parseColumnMap('submit=t,duration=run,gpus=g,tenant=team');
    const trace = readCsv('t,run,g,team\n10,5,1,x\n4,3,2,y\n', map);
    expect(trace.jobs.map((j) => [j.submit, j.duration, j.gpus, j.tenant])).toEqual([[0, 3, 2, 'y'], [6, 5, 1, 'x']]);
  });

  it('refuses a map without the needed fields, naming the flag', () => {
    expect(() => parseColumnMap('submit=t,duration=d')).toThrow(/--columns: "gpus" is missing/);
    expect(() => parseColumnMap('start=t')).toThrow(/--columns: "start=t" is not valid/);
  });
});

describe('cluster and quota specs', () => {
  it('reads NODESxGPUS and refuses anything else with the accepted form', () => {
    expect(parseClusterShape('352x8')).toEqual({ nodes: 352, gpusPerNode: 8 });
    expect(parseClusterShape('4')).toEqual({ nodes: 4, gpusPerNode: 8 });
    expect(() => parseClusterShape('big')).toThrow(/--cluster: "big" is not valid; expected NODESxGPUS/);
  });

  it('reads node counts (Helios VC sizes), GPU counts and YAML', () => {
    expect(parseQuotas('vc.csv', 'vc,node num\nabc,2\ndef,1\n')).toEqual([{ tenant: 'abc', gpus: 16 }, { tenant: 'def', gpus: 8 }]);
    expect(parseQuotas('q.csv', 'tenant,gpus\na,3\n')).toEqual([{ tenant: 'a', gpus: 3 }]);
    expect(parseQuotas('q.yaml', 'tenants:\n  a: 4\n  b: 2\n')).toEqual([{ tenant: 'a', gpus: 4 }, { tenant: 'b', gpus: 2 }]);
    expect(() => parseQuotas('q.csv', 'tenant,gpus\na,1\na,2\n')).toThrow(/tenant a is listed twice/);
  });
});

describe('fairness', () => {
  it('water-fills by weight, capped by demand', () => {
    // capacity 12, weights 1:1:2 -> level 3: tenant 1 wants only 2 (capped), 10 left over weight 3:
    // tenant 0 gets 10/3, tenant 2 gets 20/3
    const fair = waterFill([10, 2, 10], [1, 1, 2], 12);
    expect(fair[0]).toBeCloseTo(10 / 3, 12);
    expect(fair[1]).toBe(2);
    expect(fair[2]).toBeCloseTo(20 / 3, 12);
    expect(waterFill([1, 1], [1, 1], 12)).toEqual([1, 1]);
  });

  it("Jain's index is 1 for equal values and 1/n when one holds everything", () => {
    expect(jain([2, 2, 2])).toBe(1);
    expect(jain([1, 0])).toBe(0.5);
    expect(jain([3, 0, 0])).toBeCloseTo(1 / 3, 12);
  });
});
