// A job's normalised spec (as the API returns it, secrets masked) written back as a task file, for
// "requeue" and "launch again with edits". What cannot come back: secret values (the API never
// returns them; the keys are listed with empty values to fill in) and the uploaded workdir
// (the file has no `workdir`; the job runs in an empty directory unless one is given).

import type { Quantity, ResourceChoice, TaskSpec } from '../../src/core/spec/types.js';

type Choice = ResourceChoice;

/** The spec as the API returns it: the core's TaskSpec, any field possibly absent. */
export type SpecLike = Partial<Pick<TaskSpec,
  'name' | 'numNodes' | 'resources' | 'ordered' | 'envs' | 'secrets' | 'fileMounts' | 'volumes' | 'setup' | 'run'
  | 'priority' | 'maxRuntimeSeconds' | 'retries' | 'preemptible' | 'project'>>;

const q = (value: string) => JSON.stringify(value);
const amount = (x: Quantity) => q(`${x.value}${x.orMore ? '+' : ''}`);

function choiceLines(c: Choice, indent: string): string[] {
  const lines: string[] = [];
  if (c.accelerator) lines.push(`accelerators: ${q(`${c.accelerator.name}:${c.accelerator.count}`)}`);
  if (c.cpus) lines.push(`cpus: ${amount(c.cpus)}`);
  if (c.memoryGb) lines.push(`memory: ${amount(c.memoryGb)}`);
  if (c.diskSizeGb !== null) lines.push(`disk_size: ${c.diskSizeGb}`);
  if (c.useSpot) lines.push('use_spot: true');
  if (c.infra) lines.push(`infra: ${q(c.infra)}`);
  if (c.imageId) lines.push(`image_id: ${q(c.imageId)}`);
  if (c.ports.length > 0) lines.push(`ports: [${c.ports.map(q).join(', ')}]`);
  return lines.map((l) => indent + l);
}

/** A multi-line text as a literal block that reads back exactly; one line as a quoted string. */
export function block(key: string, text: string): string[] {
  if (!text.includes('\n') || /\n\n$/.test(text)) return [`${key}: ${q(text)}`];
  const indicator = /^[ \t]/.test(text) ? '2' : '';
  const chomp = text.endsWith('\n') ? '' : '-';
  const body = text.replace(/\n$/, '').split('\n').map((l) => (l ? `  ${l}` : ''));
  return [`${key}: |${indicator}${chomp}`, ...body];
}

function map(key: string, entries: Record<string, string>): string[] {
  const keys = Object.keys(entries);
  if (keys.length === 0) return [];
  return [`${key}:`, ...keys.map((k) => `  ${q(k)}: ${q(entries[k] ?? '')}`)];
}

export function specToYaml(spec: SpecLike): string {
  const out: string[] = [];
  if (spec.name) out.push(`name: ${q(spec.name)}`);
  if (spec.numNodes && spec.numNodes > 1) out.push(`num_nodes: ${spec.numNodes}`);
  const choices = spec.resources ?? [];
  if (choices.length === 1) {
    const lines = choiceLines(choices[0]!, '  ');
    if (lines.length > 0) out.push('resources:', ...lines);
  } else if (choices.length > 1) {
    out.push('resources:', `  ${spec.ordered ? 'ordered' : 'any_of'}:`);
    for (const c of choices) {
      const lines = choiceLines(c, '      ');
      out.push(...(lines.length ? [`    - ${lines[0]!.trim()}`, ...lines.slice(1)] : ['    - {}']));
    }
  }
  out.push(...map('envs', spec.envs ?? {}));
  const secrets = Object.fromEntries(Object.keys(spec.secrets ?? {}).map((k) => [k, '']));
  out.push(...map('secrets', secrets));
  const mounts = Object.fromEntries((spec.fileMounts ?? []).filter((m) => m.source !== null).map((m) => [m.target, m.source!]));
  out.push(...map('file_mounts', mounts));
  out.push(...map('volumes', spec.volumes ?? {}));
  if (spec.priority) out.push(`priority: ${spec.priority}`);
  if (spec.project) out.push(`project: ${q(spec.project)}`);
  if (spec.maxRuntimeSeconds) out.push(`max_runtime: ${q(`${spec.maxRuntimeSeconds}s`)}`);
  if (spec.retries && !isDefaultRetries(spec.retries)) {
    const r = spec.retries;
    out.push(`retries: {max: ${r.max}, on: [${r.on.join(', ')}]${r.exitCodes.length ? `, exit_codes: [${r.exitCodes.join(', ')}]` : ''}}`);
  }
  if (spec.preemptible === false) out.push('preemptible: false');
  if (spec.setup) out.push(...block('setup', spec.setup));
  if (spec.run) out.push(...block('run', spec.run));
  return out.join('\n') + '\n';
}

/** stint's default retry policy (src/core/spec/stint-keys.ts): left out of the file. */
function isDefaultRetries(r: { max: number; on: string[]; exitCodes: number[] }): boolean {
  return r.max === 3 && r.exitCodes.length === 0 && r.on.length === 2 && r.on.includes('preemption') && r.on.includes('node_failure');
}

export function hasSecrets(spec: SpecLike): boolean {
  return Object.keys(spec.secrets ?? {}).length > 0;
}

/** sessionStorage key under which the job page hands a task file to the launch page. */
export const RELAUNCH_KEY = 'stint.relaunch';
