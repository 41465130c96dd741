// Owns the mapping from the model a tool reports ("NVIDIA A100-SXM4-80GB", "AMD Instinct MI300X
// OAM", "Apple M2 Max") to the short accelerator name task files use (SkyPilot's canonical names:
// `A100-80GB`, `MI300X`, `M2-Max`), plus a table of nominal per-model memory.
// Invariant: every name returned matches the task-file name pattern /^[A-Za-z0-9][A-Za-z0-9._-]*$/,
// and the same reported model always gives the same name.

/** The characters a task file allows in a GPU type name (see src/core/spec/accelerators.ts). */
export const GPU_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

type Rule = readonly [pattern: RegExp, name: string | ((match: RegExpMatchArray) => string)];

const capitalize = (word: string): string => word.charAt(0).toUpperCase() + word.slice(1).toLowerCase();

/**
 * Checked in order against the upper-cased model; the first match wins, so more specific models
 * (A100 80GB before A100, L40S before L40 before L4) come first.
 */
const RULES: readonly Rule[] = [
  [/\bA100\b.*\b80\s*GB?\b/, 'A100-80GB'],
  [/\bA100\b/, 'A100'],
  [/\bGH200\b/, 'GH200'],
  [/\bH200\b/, 'H200'],
  [/\bH100\b/, 'H100'],
  [/\bB200\b/, 'B200'],
  [/\bV100\b.*\b32\s*GB?\b/, 'V100-32GB'],
  [/\bV100\b/, 'V100'],
  [/\bP100\b/, 'P100'],
  [/\bK80\b/, 'K80'],
  [/\bL40S\b/, 'L40S'],
  [/\bL40\b/, 'L40'],
  [/\bL4\b/, 'L4'],
  [/\bA10G\b/, 'A10G'],
  [/\bA10\b/, 'A10'],
  [/\bA40\b/, 'A40'],
  [/\bA30\b/, 'A30'],
  [/\bT4\b/, 'T4'],
  [/\bP4\b/, 'P4'],
  [/\bRTX\s+(A\d{4})\b/, (m) => m[1] ?? ''],
  [/\bRTX\s*(\d{4})[\s-]+ADA\b/, (m) => `RTX${m[1]}-Ada`],
  [/\b(RTX|GTX)\s*(\d{3,4})(?:[\s-]*(TI|SUPER))?\b/, (m) => `${m[1]}${m[2]}${suffix(m[3])}`],
  [/\bMI(\d{2,3}[A-Z]?)\b/, (m) => `MI${m[1]}`],
  [/\bRADEON\s+RX\s*(\d{4})\s*(XTX|XT)?\b/, (m) => `RX${m[1]}${m[2] ?? ''}`],
  [/\bRADEON\s+PRO\s+(W\d{4})\b/, (m) => m[1] ?? ''],
  [/\bAPPLE\s+(M\d+)(?:\s+(PRO|MAX|ULTRA))?\b/, (m) => (m[2] ? `${m[1]}-${capitalize(m[2])}` : `${m[1]}`)],
];

function suffix(word: string | undefined): string {
  if (word === 'TI') return '-Ti';
  if (word === 'SUPER') return '-SUPER';
  return '';
}

/** Words that say who made the card or how it is mounted, not which card it is. */
const NOISE = new Set(['NVIDIA', 'TESLA', 'GEFORCE', 'QUADRO', 'AMD', 'ATI', 'INSTINCT', 'RADEON', 'APPLE', 'INTEL', 'PCIE', 'SXM', 'SXM2', 'SXM3', 'SXM4', 'SXM5', 'OAM', 'MCM', 'HBM2', 'HBM2E', 'HBM3', 'HBM3E']);

/** A readable, pattern-safe name for a model no rule knows: vendor and form-factor words dropped. */
function cleaned(model: string): string {
  const words = model
    .replace(/[^A-Za-z0-9._-]+/g, ' ')
    .split(/[\s-]+/)
    .filter((word) => word !== '' && !NOISE.has(word.toUpperCase()));
  const name = words.join('-').replace(/^[._-]+/, '');
  return name === '' ? 'GPU' : name;
}

/**
 * The short name task files use for a reported model: "NVIDIA A100-SXM4-80GB" → `A100-80GB`,
 * "Tesla V100-SXM2-32GB" → `V100-32GB`, "NVIDIA GeForce RTX 4090" → `RTX4090`, "AMD Instinct
 * MI300X" → `MI300X`, "Apple M2 Max" → `M2-Max`. Unknown models keep their own words, minus vendor
 * and form-factor words ("NVIDIA A800-SXM4-80GB" → `A800-80GB`).
 */
export function normalizeGpuName(model: string): string {
  const upper = model.toUpperCase();
  for (const [pattern, name] of RULES) {
    const match = upper.match(pattern);
    if (match) return typeof name === 'string' ? name : name(match);
  }
  return cleaned(model);
}

/** Nominal memory in MiB (what nvidia-smi / rocm-smi report as the total) per canonical name. */
const MEMORY_MB: Readonly<Record<string, number>> = {
  'A100': 40960,
  'A100-80GB': 81920,
  'H100': 81920,
  'H200': 143771,
  'GH200': 97871,
  'B200': 183359,
  'V100': 16384,
  'V100-32GB': 32768,
  'P100': 16384,
  'K80': 12288,
  'T4': 15360,
  'P4': 7680,
  'L4': 23034,
  'L40': 46068,
  'L40S': 46068,
  'A10': 23028,
  'A10G': 23028,
  'A30': 24576,
  'A40': 46068,
  'A6000': 49140,
  'RTX3090': 24576,
  'RTX4090': 24564,
  'MI100': 32768,
  'MI210': 65536,
  'MI250': 65536,
  'MI250X': 65536,
  'MI300X': 196608,
  'MI325X': 262144,
};

/**
 * The nominal memory of a canonical model, in MiB, or undefined when the model is unknown. For
 * MI250/MI250X this is one GCD (each shows up as its own device), not the whole package.
 */
export function nominalMemoryMb(name: string): number | undefined {
  return MEMORY_MB[name];
}
