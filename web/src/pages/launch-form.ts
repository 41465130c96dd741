// The launch form's state, the task file it stands for, and which form field a server problem
// (named by its task-file field path) belongs to.

import { block } from '../spec-yaml.js';

export interface FormState {
  name: string;
  project: string;
  gpuType: string;
  gpuCount: number;
  run: string;
  setup: string;
  envs: Array<{ key: string; value: string }>;
  maxRuntime: string;
}

const q = (value: string) => JSON.stringify(value);

export function formToYaml(f: FormState): string {
  const out: string[] = [];
  if (f.name.trim()) out.push(`name: ${q(f.name.trim())}`);
  if (f.project.trim()) out.push(`project: ${q(f.project.trim())}`);
  if (f.gpuType) out.push('resources:', `  accelerators: ${q(`${f.gpuType}:${f.gpuCount}`)}`);
  if (f.maxRuntime.trim()) out.push(`max_runtime: ${q(f.maxRuntime.trim())}`);
  const envs = f.envs.filter((e) => e.key.trim() !== '');
  if (envs.length > 0) out.push('envs:', ...envs.map((e) => `  ${q(e.key.trim())}: ${q(e.value)}`));
  if (f.setup.trim()) out.push(...block('setup', f.setup));
  if (f.run.trim()) out.push(...block('run', f.run));
  return out.join('\n') + '\n';
}

export function fieldOfIssue(field: string): keyof FormState | 'general' {
  const top = field.split(/[.[]/)[0] ?? '';
  if (top === 'name') return 'name';
  if (top === 'project' || top === 'stint') return field.includes('project') ? 'project' : 'general';
  if (top === 'resources' || top === 'accelerators' || top === 'gpus') return 'gpuType';
  if (top === 'run') return 'run';
  if (top === 'setup') return 'setup';
  if (top === 'envs') return 'envs';
  if (top === 'max_runtime') return 'maxRuntime';
  return 'general';
}
