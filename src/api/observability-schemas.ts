// The wire format of GPU telemetry, health (drains and health events), idle-GPU policies and alert
// webhooks, shared by the server and the CLI. Times are ISO 8601 strings; utilisation is 0..1.

import { z } from 'zod';

export const TelemetryPointSchema = z.object({ at: z.string(), seconds: z.number(), utilization: z.number(), memoryUsedMb: z.number() });

export const JobTelemetrySchema = z.object({
  jobId: z.number().int(),
  attempts: z.array(z.object({
    attempt: z.number().int(),
    updatedAt: z.string(),
    gpuSeconds: z.number(),
    idleGpuSeconds: z.number(),
    series: z.array(TelemetryPointSchema).describe('downsampled: at most 120 points per attempt, covering its whole life'),
  })),
  idle: z.object({
    since: z.string().nullable(),
    warnedAt: z.string().nullable(),
    stoppedAt: z.string().nullable(),
    policy: z.object({ project: z.string(), thresholdPercent: z.number(), warnAfterSeconds: z.number(), stopAfterSeconds: z.number().nullable(), appliesTo: z.enum(['interactive', 'all']) }),
  }).nullable().describe('the idle-GPU policy watching the running attempt, if any'),
});
export type JobTelemetryView = z.infer<typeof JobTelemetrySchema>;

export const DrainViewSchema = z.object({ backend: z.string(), node: z.string(), gpu: z.number().int().nullable(), reason: z.string(), source: z.string(), at: z.string() });
export type DrainView = z.infer<typeof DrainViewSchema>;

export const HealthReportSchema = z.object({
  drains: z.array(DrainViewSchema),
  events: z.array(z.object({ at: z.string(), backend: z.string(), node: z.string(), gpu: z.number().int().nullable(), kind: z.string(), detail: z.string() })),
});
export type HealthReport = z.infer<typeof HealthReportSchema>;

export const DrainRequestSchema = z.object({
  backend: z.string().optional().describe('default: the only backend with GPUs, else local'),
  node: z.string().optional().describe('default: the backend\'s only node'),
  gpu: z.number().int().min(0).optional().describe('absent: the whole node'),
  reason: z.string().max(500).optional(),
});
export const DrainResponseSchema = z.object({ changed: z.boolean(), drain: DrainViewSchema.nullable() });

export const IdlePolicySchema = z.object({
  project: z.string().describe("a project, or '*' for the default"),
  thresholdPercent: z.number().gt(0).max(100),
  warnAfterSeconds: z.number().int().min(0),
  stopAfterSeconds: z.number().int().min(0).nullable(),
  appliesTo: z.enum(['interactive', 'all']),
});
export const IdlePolicyListSchema = z.object({ policies: z.array(IdlePolicySchema), serverDefault: IdlePolicySchema.nullable() });
export const ProjectParamsSchema = z.object({ project: z.string().min(1) });

export const WebhookSchema = z.object({
  url: z.string().max(2048).url().regex(/^https?:\/\//, 'an http(s) URL').describe("admins: any; members: only where the server's --webhook-allow list says, never a loopback, link-local or private address"),
  format: z.enum(['json', 'slack']).default('json'),
});
export const WebhookViewSchema = z.object({ webhook: z.object({ url: z.string(), format: z.enum(['json', 'slack']) }).nullable() });
