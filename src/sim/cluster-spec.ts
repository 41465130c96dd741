// The simulated cluster's shape (`--cluster 352x8`) and the per-tenant guarantees (`--quotas FILE`,
// CSV or YAML: tenant, GPUs guaranteed; a CSV whose second column is a node count, such as
// Helios' `vc,node num`, is read as nodes × GPUs per node). Pure: text in, spec out.
// Always: nodes ≥ 1, gpusPerNode ≥ 1, every guarantee a whole number ≥ 0, tenant names unique.

import { parse as parseYaml } from 'yaml';
import { StintError } from '../core/errors.js';

export const DEFAULT_GPUS_PER_NODE = 8;

export interface TenantQuota {
  tenant: string;
  gpus: number;
}

export interface ClusterShape {
  nodes: number;
  gpusPerNode: number;
}

/** `352x8` (nodes × GPUs per node) or `352` (8 GPUs per node). */
export function parseClusterShape(text: string): ClusterShape {
  const match = /^(\d+)(?:x(\d+))?$/.exec(text.trim());
  const nodes = match ? Number(match[1]) : NaN;
  const gpusPerNode = match?.[2] ? Number(match[2]) : DEFAULT_GPUS_PER_NODE;
  if (!match || nodes < 1 || gpusPerNode < 1) {
    throw new StintError('INVALID_REQUEST', `--cluster: "${text}" is not valid; expected NODESxGPUS (e.g. 352x8), or a quota file with --quotas`, { field: '--cluster', value: text });
  }
  return { nodes, gpusPerNode };
}

function quotaError(file: string, why: string): StintError {
  return new StintError('INVALID_REQUEST', `--quotas ${file}: ${why}; expected CSV rows "tenant,gpus" (or "vc,node num") or YAML "tenant: gpus"`, { field: '--quotas', value: file });
}

function checked(file: string, list: TenantQuota[]): TenantQuota[] {
  const seen = new Set<string>();
  for (const { tenant, gpus } of list) {
    if (tenant === '') throw quotaError(file, 'a tenant has no name');
    if (seen.has(tenant)) throw quotaError(file, `tenant ${tenant} is listed twice`);
    if (!Number.isInteger(gpus) || gpus < 0) throw quotaError(file, `tenant ${tenant}: ${gpus} is not a whole number of GPUs ≥ 0`);
    seen.add(tenant);
  }
  if (list.length === 0) throw quotaError(file, 'no tenants');
  return list;
}

function readCsvQuotas(file: string, text: string, gpusPerNode: number): TenantQuota[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = (lines[0] ?? '').split(',').map((s) => s.trim().toLowerCase());
  if (header.length < 2) throw quotaError(file, 'the header needs two columns');
  const perNode = /node/.test(header[1]!) ? gpusPerNode : 1;
  return lines.slice(1).map((line) => {
    const [tenant = '', count = ''] = line.split(',').map((s) => s.trim());
    return { tenant, gpus: Number(count) * perNode };
  });
}

function readYamlQuotas(file: string, text: string): TenantQuota[] {
  const data: unknown = parseYaml(text);
  const body = data && typeof data === 'object' && 'tenants' in data ? (data as { tenants: unknown }).tenants : data;
  if (Array.isArray(body)) {
    return body.map((item: unknown) => {
      const entry = (item ?? {}) as { tenant?: unknown; gpus?: unknown };
      return { tenant: String(entry.tenant ?? ''), gpus: Number(entry.gpus) };
    });
  }
  if (body && typeof body === 'object') return Object.entries(body).map(([tenant, gpus]) => ({ tenant, gpus: Number(gpus) }));
  throw quotaError(file, 'the YAML is neither a list nor a mapping');
}

/** Reads a quota file; `file` is only used in messages. */
export function parseQuotas(file: string, text: string, gpusPerNode = DEFAULT_GPUS_PER_NODE): TenantQuota[] {
  const yaml = /\.ya?ml$/i.test(file);
  return checked(file, yaml ? readYamlQuotas(file, text) : readCsvQuotas(file, text, gpusPerNode));
}

/** The smallest cluster of whole nodes that holds every guarantee. */
export function shapeForQuotas(quotas: readonly TenantQuota[], gpusPerNode: number): ClusterShape {
  const total = quotas.reduce((sum, q) => sum + q.gpus, 0);
  return { nodes: Math.max(1, Math.ceil(total / gpusPerNode)), gpusPerNode };
}
