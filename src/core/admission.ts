// Admission: can the configured backends ever run this parsed task file? Checked at submit, so a
// job that could never run is refused at once with the field, its line and the reason, instead of
// waiting forever. Pure: the backends' offers (unsupported features + inventory) are passed in.
// Backends are tried in order; the first with no problem wins. For one backend and one task:
//   - a task-wide feature (no `choices`) the backend lists as unsupported is a problem;
//   - a resource choice is feasible when none of its own features is unsupported, its infra names
//     this backend (see spec/infra.ts), and it fits on one node: a healthy GPU of that type
//     (names compared ignoring case) in the asked number, enough CPUs, enough memory;
//   - no feasible choice: every reason that ruled a choice out is a problem (a choice whose infra
//     points elsewhere is not also measured against this backend's nodes).
// A pipeline must fit entirely on one backend: each task is checked, and the 'pipeline' feature
// itself is refused where the backend lists it.
// Invariant: ok ⇔ problems is empty ⇔ backend is non-null; feasibleChoices index task 0's resources.

import { describeIssues, type FieldIssue } from './errors.js';
import type { Gpu, Inventory, Node } from './inventory.js';
import { classifyInfra, type InfraTarget } from './spec/infra.js';
import type { Feature, FeatureUse, ResourceChoice, SourcePos, TaskFile, TaskSpec } from './spec/types.js';

export interface BackendOffer {
  name: string;
  kind: string;
  unsupported: Partial<Record<Feature, string>>;
  inventory: Inventory;
}

export interface AdmissionVerdict {
  ok: boolean;
  backend: string | null;
  /** Indices into tasks[0].resources that fit the chosen backend. */
  feasibleChoices: number[];
  /** The same per task, for pipelines (one entry per task). */
  feasibleByTask: number[][];
  problems: FieldIssue[];
  /** UNSATISFIABLE when only capacity is missing, UNSUPPORTED_FEATURE otherwise; null when ok. */
  refusal: 'UNSATISFIABLE' | 'UNSUPPORTED_FEATURE' | null;
  summary: string;
}

interface Problem extends FieldIssue {
  /** true: the backend lacks capacity; false: it cannot honour a field at all. */
  capacity: boolean;
}

interface BackendCheck {
  offer: BackendOffer;
  problems: Problem[];
  feasibleByTask: number[][];
}

const KIND_ALIASES: Record<string, InfraTarget['kind']> = { local: 'local', slurm: 'slurm', kubernetes: 'kubernetes', k8s: 'kubernetes', ssh: 'ssh' };

function problem(field: string, pos: SourcePos | undefined, message: string, capacity: boolean, value?: unknown): Problem {
  const issue: Problem = { field, message, capacity };
  if (pos) Object.assign(issue, { line: pos.line, col: pos.col });
  if (value !== undefined) issue.value = value;
  return issue;
}

function featureProblem(offer: BackendOffer, use: FeatureUse, reason: string): Problem {
  const message = `the ${offer.name} backend cannot honour \`${use.field}\` (${use.detail}): ${reason}`;
  return problem(use.field, use.pos, message, false, use.detail);
}

// ---- infra ----

function infraMismatch(offer: BackendOffer, choice: ResourceChoice): Problem | null {
  if (choice.infra === null) return null;
  const target = classifyInfra(choice.infra);
  const kind = KIND_ALIASES[offer.kind.toLowerCase()];
  const kindMatches = target.kind === 'cloud' ? target.cloud === '*' || offer.kind.toLowerCase() === target.cloud || offer.kind === 'cloud' : kind === target.kind;
  const nameMatches = target.name === null || target.name === offer.name;
  if (kindMatches && nameMatches) return null;
  const origin = choice.origins?.infra;
  const asked = target.kind === 'cloud' ? `the cloud ${target.cloud}` : target.name ? `the ${target.kind} backend \`${target.name}\`` : `a ${target.kind} backend`;
  return problem(origin?.field ?? 'resources.infra', origin?.pos, `infra \`${choice.infra}\` asks for ${asked}; \`${offer.name}\` is a ${offer.kind} backend`, false, choice.infra);
}

/** The offer an infra string names, for choosing whose problems to report. */
function namedOffer(file: TaskFile, offers: BackendOffer[]): BackendOffer | undefined {
  for (const choice of file.tasks.flatMap((task) => task.resources)) {
    if (choice.infra === null) continue;
    const found = offers.find((offer) => infraMismatch(offer, choice) === null);
    if (found) return found;
  }
  return undefined;
}

// ---- capacity ----

function healthyGpus(node: Node, name?: string): Gpu[] {
  return node.gpus.filter((gpu) => gpu.healthy && (name === undefined || gpu.name.toLowerCase() === name.toLowerCase()));
}

function gpuSummary(gpus: Gpu[]): string {
  const counts = new Map<string, number>();
  for (const gpu of gpus) counts.set(gpu.name, (counts.get(gpu.name) ?? 0) + 1);
  return [...counts].map(([name, count]) => `${count} × ${name}`).join(', ');
}

function fitsNode(node: Node, choice: ResourceChoice): boolean {
  const accelerator = choice.accelerator;
  if (accelerator && healthyGpus(node, accelerator.name).length < accelerator.count) return false;
  if (choice.cpus && choice.cpus.value > node.cpus) return false;
  return !(choice.memoryGb && choice.memoryGb.value > node.memoryGb);
}

function largestBy(nodes: Node[], measure: (node: Node) => number): Node | undefined {
  return nodes.reduce<Node | undefined>((best, node) => (best === undefined || measure(node) > measure(best) ? node : best), undefined);
}

function gpuProblem(inventory: Inventory, choice: ResourceChoice): Problem | null {
  const accelerator = choice.accelerator;
  if (!accelerator) return null;
  const field = choice.origins?.accelerator?.field ?? 'resources.accelerators';
  const pos = choice.origins?.accelerator?.pos;
  const best = largestBy(inventory.nodes, (node) => healthyGpus(node, accelerator.name).length * 1000 + healthyGpus(node).length);
  const have = best ? healthyGpus(best, accelerator.name).length : 0;
  if (have >= accelerator.count) return null;
  const written = `${accelerator.name}:${accelerator.count}`;
  if (have === 0) {
    const all = inventory.nodes.flatMap((node) => healthyGpus(node));
    const available = all.length === 0 ? 'no healthy GPUs at all' : `available: ${availableByType(all)}`;
    return problem(field, pos, `no GPU of type ${accelerator.name} here (${inventory.backend}); ${available}`, true, written);
  }
  const message = `asks for ${accelerator.count} × ${accelerator.name}; the largest node here (${best?.name}) has ${gpuSummary(healthyGpus(best as Node))}`;
  return problem(field, pos, message, true, written);
}

function availableByType(gpus: Gpu[]): string {
  const counts = new Map<string, number>();
  for (const gpu of gpus) counts.set(gpu.name, (counts.get(gpu.name) ?? 0) + 1);
  return [...counts].map(([name, count]) => `${name} (${count})`).join(', ');
}

function amountProblem(inventory: Inventory, choice: ResourceChoice, key: 'cpus' | 'memoryGb'): Problem | null {
  const quantity = choice[key];
  if (!quantity) return null;
  const best = largestBy(inventory.nodes, (node) => (key === 'cpus' ? node.cpus : node.memoryGb));
  const have = best ? (key === 'cpus' ? best.cpus : best.memoryGb) : 0;
  if (quantity.value <= have) return null;
  const unit = key === 'cpus' ? ' CPUs' : ' GB of memory';
  const origin = choice.origins?.[key];
  const field = origin?.field ?? (key === 'cpus' ? 'resources.cpus' : 'resources.memory');
  const asked = `${quantity.value}${quantity.orMore ? '+' : ''}${unit}`;
  return problem(field, origin?.pos, `asks for ${asked}; the largest node here (${best?.name ?? 'none'}) has ${have}${unit}`, true, asked);
}

function capacityProblems(inventory: Inventory, choice: ResourceChoice): Problem[] {
  if (inventory.nodes.length === 0) return [problem('resources', undefined, `the ${inventory.backend} backend reports no nodes`, true)];
  if (inventory.nodes.some((node) => fitsNode(node, choice))) return [];
  const found = [gpuProblem(inventory, choice), amountProblem(inventory, choice, 'cpus'), amountProblem(inventory, choice, 'memoryGb')];
  const problems = found.filter((item): item is Problem => item !== null);
  if (problems.length > 0) return problems;
  const origin = choice.origins?.accelerator ?? choice.origins?.cpus ?? choice.origins?.memoryGb;
  return [problem(origin?.field ?? 'resources', origin?.pos, 'no single node has all of the GPUs, CPUs and memory asked for together', true)];
}

// ---- one task on one backend ----

function choiceProblems(offer: BackendOffer, task: TaskSpec, index: number, choice: ResourceChoice): Problem[] {
  const refused = task.features.filter((use) => use.choices?.includes(index) && offer.unsupported[use.feature] !== undefined);
  const problems = refused.map((use) => featureProblem(offer, use, offer.unsupported[use.feature] ?? ''));
  // A choice meant for another place is not measured against this backend's nodes.
  if (refused.some((use) => use.feature === 'cloud_infra')) return problems;
  const mismatch = infraMismatch(offer, choice);
  if (mismatch) return [...problems, mismatch];
  return [...problems, ...capacityProblems(offer.inventory, choice)];
}

function checkTask(offer: BackendOffer, task: TaskSpec, label: string): { problems: Problem[]; feasible: number[] } {
  const taskWide = task.features.filter((use) => use.choices === undefined && use.feature !== 'pipeline');
  const problems = taskWide.flatMap((use) => {
    const reason = offer.unsupported[use.feature];
    return reason === undefined ? [] : [featureProblem(offer, use, reason)];
  });
  const perChoice = task.resources.map((choice, index) => choiceProblems(offer, task, index, choice));
  const feasible = perChoice.flatMap((found, index) => (found.length === 0 ? [index] : []));
  if (feasible.length === 0) problems.push(...perChoice.flat());
  return { problems: dedupe(problems).map((item) => (label ? { ...item, message: `${label}: ${item.message}` } : item)), feasible };
}

function dedupe(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((item) => {
    const key = `${item.field}|${item.line}|${item.col}|${item.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function checkBackend(offer: BackendOffer, file: TaskFile): BackendCheck {
  const pipelineUses = file.tasks[0]?.features.filter((use) => use.feature === 'pipeline') ?? [];
  const problems: Problem[] = [];
  const reason = offer.unsupported.pipeline;
  if (reason !== undefined) problems.push(...pipelineUses.map((use) => featureProblem(offer, use, reason)));
  const several = file.tasks.length > 1;
  const feasibleByTask = file.tasks.map((task, index) => {
    const label = several ? `task \`${task.name ?? `#${index + 1}`}\`` : '';
    const checked = checkTask(offer, task, label);
    problems.push(...checked.problems);
    return checked.feasible;
  });
  return { offer, problems, feasibleByTask };
}

// ---- verdict ----

function strip(problems: Problem[]): FieldIssue[] {
  return problems.map(({ capacity: _capacity, ...issue }) => issue);
}

function refusedSummary(file: TaskFile, shown: BackendCheck, checks: BackendCheck[]): string {
  const subject = file.name ? `\`${file.name}\`` : 'This task';
  const others = checks.filter((check) => check !== shown).map((check) => `${check.offer.name} (${check.problems.length} problem${check.problems.length === 1 ? '' : 's'})`);
  const also = others.length > 0 ? ` Also tried: ${others.join(', ')}.` : '';
  const details = describeIssues(shown.problems).split('\n').join('; ');
  return `${subject} cannot run on any configured backend. On ${shown.offer.name}: ${details}.${also}`;
}

export function admit(file: TaskFile, offers: BackendOffer[]): AdmissionVerdict {
  const empty = { backend: null, feasibleChoices: [], feasibleByTask: [] };
  if (offers.length === 0) {
    const issue = { field: '(backends)', message: 'no backend is configured' };
    return { ok: false, ...empty, problems: [issue], refusal: 'UNSATISFIABLE', summary: 'No backend is configured, so nothing can run.' };
  }
  const checks = offers.map((offer) => checkBackend(offer, file));
  const winner = checks.find((check) => check.problems.length === 0);
  if (winner) {
    const counts = winner.feasibleByTask.map((feasible, index) => `${feasible.length} of ${file.tasks[index]?.resources.length ?? 0}`);
    const summary = `Admitted on ${winner.offer.name}: ${counts.join('; ')} resource choice(s) fit.`;
    return { ok: true, backend: winner.offer.name, feasibleChoices: winner.feasibleByTask[0] ?? [], feasibleByTask: winner.feasibleByTask, problems: [], refusal: null, summary };
  }
  const named = namedOffer(file, offers);
  const shown = checks.find((check) => check.offer === named) ?? (checks[0] as BackendCheck);
  const refusal = shown.problems.every((item) => item.capacity) ? 'UNSATISFIABLE' : 'UNSUPPORTED_FEATURE';
  return { ok: false, ...empty, problems: strip(shown.problems), refusal, summary: refusedSummary(file, shown, checks) };
}
