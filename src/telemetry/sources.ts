// Where GPU samples come from on the local machine: nvidia-smi (and Xid lines from the kernel log),
// rocm-smi, Apple's powermetrics, or — for fake GPUs — a JSON file someone writes (a test, a demo).
// Invariants: a tool that is missing or fails gives no sample this time (null), never an idle
// one; Xid lines already in the kernel log when the server started are history, not news, so the
// first read only sets the baseline.

import { readFile } from 'node:fs/promises';
import type { GpuVendor } from '../core/inventory.js';
import type { CommandRunner } from '../backends/local/gpus/discover.js';
import { NVIDIA_TELEMETRY_ARGS, parseFakeTelemetry, parseNvidiaTelemetry, parsePowermetrics, parseRocmTelemetry, parseXidLines, POWERMETRICS_ARGS, ROCM_TELEMETRY_ARGS, type GpuSample } from './parsers.js';

/** One read of every GPU of the node; null when nothing could be read this time. */
export type TelemetrySource = () => Promise<GpuSample[] | null>;

export function fileSource(path: string): TelemetrySource {
  return async () => {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch {
      return null;
    }
    return parseFakeTelemetry(text);
  };
}

export function nvidiaSource(run: CommandRunner): TelemetrySource {
  let seenXidLines: Set<string> | null = null;
  return async () => {
    const output = await run('nvidia-smi', [...NVIDIA_TELEMETRY_ARGS]);
    if (output === null) return null;
    const { samples, busIds } = parseNvidiaTelemetry(output);
    const kernel = await run('dmesg', ['--level=err,warn,crit,alert,emerg']);
    if (kernel !== null) {
      const xids = parseXidLines(kernel);
      const fresh = seenXidLines === null ? [] : xids.filter((x) => !seenXidLines!.has(x.line));
      seenXidLines = new Set(xids.map((x) => x.line));
      for (const xid of fresh) samples.find((s) => s.index === busIds.get(xid.busId))?.xids.push(xid.code);
    }
    return samples;
  };
}

export function rocmSource(run: CommandRunner): TelemetrySource {
  return async () => {
    const output = await run('rocm-smi', [...ROCM_TELEMETRY_ARGS]);
    return output === null || output.trim() === '' ? null : parseRocmTelemetry(output);
  };
}

export function powermetricsSource(run: CommandRunner): TelemetrySource {
  return async () => {
    const output = await run('powermetrics', [...POWERMETRICS_ARGS]);
    return output === null ? null : parsePowermetrics(output);
  };
}

/** The source for a node's GPUs: the file when one is given, else the vendor's tool; null: none. */
export function chooseSource(options: { vendor: GpuVendor | undefined; file: string | undefined; run: CommandRunner }): TelemetrySource | null {
  if (options.file !== undefined) return fileSource(options.file);
  switch (options.vendor) {
    case 'nvidia':
      return nvidiaSource(options.run);
    case 'amd':
      return rocmSource(options.run);
    case 'apple':
      return powermetricsSource(options.run);
    case 'fake':
    case undefined:
      return null;
  }
}
