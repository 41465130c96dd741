// Automatic GPU health checks on a node the server samples. A GPU is drained (source 'health') when
// - it disappears: the inventory has it but a successful telemetry read does not list it;
// - it reports an Xid that means broken hardware or a lost GPU (HARDWARE_XIDS; application faults
//   such as Xid 13/31/43 are only recorded as events);
// - its uncorrectable ECC count is above zero (volatile: since the driver loaded);
// - the admin's health command (`--health-command`, run per GPU with STINT_GPU_INDEX and
//   CUDA_VISIBLE_DEVICES set) exits non-zero or times out.
// A failed telemetry read (tool missing or failing) drains nothing: unknown is not broken.
// Draining is idempotent; enforce.ts then stops and requeues the running job.

import { execFile } from 'node:child_process';
import type { Gpu } from '../core/inventory.js';
import type { Logger } from '../scheduler/loop.js';
import type { SampleSet } from '../telemetry/sampler.js';
import type { DrainRegistry } from './drains.js';

/** Xids that mean the GPU itself failed (NVIDIA's Xid catalogue): DBE/ECC page retirement, row-remap
 * failure, NVLink, fallen off the bus, GSP/firmware errors, contained/uncontained memory errors. */
export const HARDWARE_XIDS = new Set([48, 61, 62, 63, 64, 74, 79, 92, 94, 95, 119, 120, 140]);

export interface HealthCommand {
  command: string;
  timeoutMs: number;
}

export class HealthMonitor {
  private checking = false;

  constructor(
    private readonly options: { drains: DrainRegistry; logger: Logger; gpus: () => Promise<readonly Gpu[]>; command: HealthCommand | null },
  ) {}

  /** Sample listener: drains what the reading shows broken. */
  async onSample(set: SampleSet): Promise<void> {
    if (!set.gpus) return;
    const { drains } = this.options;
    const seen = new Map(set.gpus.map((g) => [g.index, g]));
    for (const gpu of await this.options.gpus()) {
      const sample = seen.get(gpu.index);
      const drain = (reason: string, kind: string) => drains.drain({ backend: set.backend, node: set.node, gpuIndex: gpu.index, reason, source: 'health', kind });
      if (!sample) {
        await drain(`GPU ${gpu.index} (${gpu.model}) disappeared: the telemetry tool no longer lists it`, 'gpu_missing');
        continue;
      }
      const hardware = sample.xids.filter((x) => HARDWARE_XIDS.has(x));
      if (hardware.length > 0) await drain(`GPU ${gpu.index} reported Xid ${hardware.join(', ')} (hardware fault)`, 'xid');
      else if (sample.xids.length > 0) this.options.logger.warn({ gpu: gpu.index, xids: sample.xids }, 'GPU reported application Xid errors');
      if (sample.eccUncorrected !== null && sample.eccUncorrected > 0) await drain(`GPU ${gpu.index} has ${sample.eccUncorrected} uncorrectable ECC error(s)`, 'ecc');
    }
  }

  /** Runs the health command on every GPU once; drains those it fails. Never overlaps itself. */
  async runCommand(backend: string, node: string): Promise<void> {
    const command = this.options.command;
    if (!command || this.checking) return;
    this.checking = true;
    try {
      for (const gpu of await this.options.gpus()) {
        const failure = await runCheck(command, gpu.index);
        if (failure !== null) {
          await this.options.drains.drain({ backend, node, gpuIndex: gpu.index, reason: `health command failed on GPU ${gpu.index}: ${failure}`, source: 'health', kind: 'health_command' });
        }
      }
    } finally {
      this.checking = false;
    }
  }
}

/** null when the check passed; else what went wrong (exit code and the output's last line). */
function runCheck(check: HealthCommand, gpu: number): Promise<string | null> {
  return new Promise((resolve) => {
    execFile('/bin/sh', ['-c', check.command], { timeout: check.timeoutMs, env: { ...process.env, STINT_GPU_INDEX: String(gpu), CUDA_VISIBLE_DEVICES: String(gpu) }, maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
      if (!error) return resolve(null);
      const last = `${stdout}\n${stderr}`.trim().split('\n').pop()?.slice(0, 300) ?? '';
      const how = error.killed ? `timed out after ${check.timeoutMs / 1000} s` : `exit code ${String(error.code)}`;
      resolve(last ? `${how}: ${last}` : how);
    });
  });
}
