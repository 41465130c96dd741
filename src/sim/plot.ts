// A hand-written SVG of one or more replays: queue length (pending jobs) and GPU utilisation over
// time, two stacked panels sharing the time axis (days), one coloured line per policy, axes with
// labels and units, and a legend. Pure: samples in, SVG text out.
// Always: each series is reduced to at most POINTS points per panel (per bucket: the mean for
// utilisation, the maximum for the queue, so peaks stay visible); all text is XML-escaped.

import type { Sample } from './metrics.js';

export interface PlotSeries {
  name: string;
  samples: readonly Sample[];
  capacity: number;
}

const POINTS = 600;
const WIDTH = 960;
const PANEL = 220;
const LEFT = 80;
const RIGHT = 30;
const TOP = 60;
const GAP = 70;
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#17becf'];
const DAY = 86_400;

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Step function values per bucket over [t0, t1]: time-weighted mean, or max. */
function buckets(samples: readonly Sample[], t0: number, t1: number, pick: (s: Sample) => number, max: boolean): number[] {
  const width = (t1 - t0) / POINTS || 1;
  const out = new Array<number>(POINTS).fill(0);
  const weight = new Array<number>(POINTS).fill(0);
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i]!;
    const end = samples[i + 1]?.t ?? t1;
    let t = s.t;
    while (t < end) {
      const b = Math.min(POINTS - 1, Math.floor((t - t0) / width));
      const bucketEnd = Math.min(end, t0 + (b + 1) * width);
      const dt = Math.max(bucketEnd - t, 1e-9);
      if (max) out[b] = Math.max(out[b]!, pick(s));
      else {
        out[b]! += pick(s) * dt;
        weight[b]! += dt;
      }
      if (bucketEnd <= t) break;
      t = bucketEnd;
    }
  }
  return max ? out : out.map((v, b) => (weight[b]! > 0 ? v / weight[b]! : 0));
}

/** 1, 2, 5 × 10^k step giving about `count` ticks up to `top`. */
function niceStep(top: number, count: number): number {
  const raw = top / count;
  const power = 10 ** Math.floor(Math.log10(raw || 1));
  for (const m of [1, 2, 5, 10]) if (m * power >= raw) return m * power;
  return 10 * power;
}

function axisLabel(value: number): string {
  return value >= 10_000 ? `${(value / 1000).toFixed(0)}k` : value >= 1000 ? `${(value / 1000).toFixed(1)}k` : String(Math.round(value * 100) / 100);
}

interface Panel {
  y: number;
  title: string;
  unit: string;
  top: number;
  values: number[][];
}

function drawPanel(panel: Panel, names: readonly string[], days: number): string[] {
  const plotWidth = WIDTH - LEFT - RIGHT;
  const parts: string[] = [];
  const { y, top } = panel;
  const yOf = (v: number) => y + PANEL - (v / top) * PANEL;
  const step = niceStep(top, 4);
  for (let v = 0; v <= top + 1e-9; v += step) {
    parts.push(`<line x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${yOf(v).toFixed(1)}" y2="${yOf(v).toFixed(1)}" stroke="#ddd"/>`);
    parts.push(`<text x="${LEFT - 8}" y="${(yOf(v) + 4).toFixed(1)}" text-anchor="end" font-size="12">${axisLabel(v)}</text>`);
  }
  const dayStep = niceStep(days, 8);
  for (let d = 0; d <= days + 1e-9; d += dayStep) {
    const x = LEFT + (d / days) * plotWidth;
    parts.push(`<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${y + PANEL}" y2="${y + PANEL + 5}" stroke="#333"/>`);
    parts.push(`<text x="${x.toFixed(1)}" y="${y + PANEL + 18}" text-anchor="middle" font-size="12">${axisLabel(d)}</text>`);
  }
  parts.push(`<rect x="${LEFT}" y="${y}" width="${plotWidth}" height="${PANEL}" fill="none" stroke="#333"/>`);
  parts.push(`<text x="${LEFT}" y="${y - 10}" font-size="14" font-weight="bold">${escape(panel.title)}</text>`);
  parts.push(`<text transform="translate(18 ${y + PANEL / 2}) rotate(-90)" text-anchor="middle" font-size="12">${escape(panel.unit)}</text>`);
  panel.values.forEach((series, i) => {
    const points = series.map((v, b) => `${(LEFT + ((b + 0.5) / POINTS) * plotWidth).toFixed(1)},${yOf(Math.min(v, top)).toFixed(1)}`).join(' ');
    parts.push(`<polyline fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="1.5" stroke-opacity="0.85" points="${points}"><title>${escape(names[i]!)}</title></polyline>`);
  });
  return parts;
}

export function plotSvg(series: readonly PlotSeries[], title: string): string {
  const all = series.flatMap((s) => s.samples);
  const t0 = all.reduce((m, s) => Math.min(m, s.t), Infinity);
  const t1 = all.reduce((m, s) => Math.max(m, s.t), -Infinity);
  const span = Number.isFinite(t0) && t1 > t0 ? t1 - t0 : 1;
  const names = series.map((s) => s.name);
  const queues = series.map((s) => buckets(s.samples, t0, t0 + span, (x) => x.queue, true));
  const utils = series.map((s) => buckets(s.samples, t0, t0 + span, (x) => (s.capacity > 0 ? (100 * x.busy) / s.capacity : 0), false));
  const queueTop = Math.max(1, ...queues.flat());
  const queueStep = niceStep(queueTop, 4);
  const height = TOP + 2 * PANEL + GAP + 60 + 24 * Math.ceil(series.length / 5);
  const days = span / DAY;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">${escape(title)}</text>`,
    ...drawPanel({ y: TOP, title: 'Queue length (most pending jobs in each interval)', unit: 'pending jobs', top: Math.ceil(queueTop / queueStep) * queueStep, values: queues }, names, days),
    ...drawPanel({ y: TOP + PANEL + GAP, title: 'GPU utilisation (mean in each interval)', unit: 'GPUs busy (%)', top: 100, values: utils }, names, days),
    `<text x="${LEFT + (WIDTH - LEFT - RIGHT) / 2}" y="${TOP + 2 * PANEL + GAP + 38}" text-anchor="middle" font-size="12">time since the first submission (days)</text>`,
  ];
  const legendY = TOP + 2 * PANEL + GAP + 62;
  names.forEach((name, i) => {
    const x = LEFT + (i % 5) * 170;
    const y = legendY + Math.floor(i / 5) * 24;
    parts.push(`<line x1="${x}" x2="${x + 28}" y1="${y}" y2="${y}" stroke="${COLORS[i % COLORS.length]}" stroke-width="3"/>`);
    parts.push(`<text x="${x + 36}" y="${y + 4}" font-size="13">${escape(name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
