// Usage by user or project over time: GPU-hours per time bucket as a uPlot chart (one line per
// user or project), with the period's totals in a table below.

import { useEffect, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { UsageSeries } from '../api.js';
import { usePoll } from '../hooks.js';
import { useSession } from '../session.js';

const PERIODS: Array<[string, string, number]> = [['24h', 'last 24 hours', 24], ['7d', 'last 7 days', 28], ['30d', 'last 30 days', 30], ['90d', 'last 90 days', 45]];
const COLOURS = ['#2f6fde', '#d9480f', '#2b8a3e', '#ae3ec9', '#e67700', '#0c8599', '#c2255c', '#5c7cfa', '#74b816', '#868e96'];

export function UsagePanel() {
  const { api } = useSession();
  const [by, setBy] = useState<'user' | 'project'>('user');
  const [period, setPeriod] = useState('7d');
  const buckets = PERIODS.find(([p]) => p === period)?.[2] ?? 30;
  const series = usePoll(() => api.usageSeries(by, period, buckets), 30_000, [api, by, period]);
  const totals = usePoll(() => api.usage(by, period), 30_000, [api, by, period]);
  return (
    <section aria-labelledby="usage-h">
      <h2 id="usage-h">Usage</h2>
      <form className="inline-form" onSubmit={(e) => e.preventDefault()}>
        <label>By <select value={by} onChange={(e) => setBy(e.target.value as 'user' | 'project')}><option value="user">user</option><option value="project">project</option></select></label>
        <label>Period <select value={period} onChange={(e) => setPeriod(e.target.value)}>{PERIODS.map(([p, label]) => <option key={p} value={p}>{label}</option>)}</select></label>
      </form>
      {series.error && <p className="error" role="alert">{series.error}</p>}
      {series.data && <Chart data={series.data} />}
      <table>
        <caption>Totals for the period</caption>
        <thead><tr><th scope="col">{by === 'user' ? 'User' : 'Project'}</th><th scope="col" className="num">GPU-hours</th><th scope="col" className="num">Jobs</th><th scope="col" className="num">Attempts</th><th scope="col" className="num">Avg wait</th></tr></thead>
        <tbody>
          {(totals.data?.rows ?? []).map((r) => (
            <tr key={r.name}><td>{r.name}</td><td className="num">{r.gpuHours.toFixed(2)}</td><td className="num">{r.jobs}</td><td className="num">{r.attempts}</td><td className="num">{r.avgWaitSeconds === null ? '—' : `${Math.round(r.avgWaitSeconds)} s`}</td></tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Chart({ data }: { data: UsageSeries }) {
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const dark = matchMedia('(prefers-color-scheme: dark)').matches;
    const axis = { stroke: dark ? '#c9d1d9' : '#333', grid: { stroke: dark ? '#30363d' : '#e5e7eb' }, ticks: { stroke: dark ? '#30363d' : '#e5e7eb' } };
    const xs = data.starts.map((s) => Date.parse(s) / 1000);
    const plot = new uPlot(
      {
        width: plotWidth(el),
        height: 280,
        title: `GPU-hours per ${Math.round(data.bucketSeconds / 3600) >= 1 ? `${Math.round(data.bucketSeconds / 3600)} h` : `${Math.round(data.bucketSeconds / 60)} min`}`,
        series: [{}, ...data.series.map((s, i) => ({ label: s.name, stroke: COLOURS[i % COLOURS.length], width: 2, points: { show: false } }))],
        axes: [{ ...axis }, { ...axis, label: 'GPU-hours' }],
      },
      [xs, ...data.series.map((s) => s.gpuHours)],
      el,
    );
    const resize = new ResizeObserver(() => plot.setSize({ width: plotWidth(el), height: 280 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [data]);
  if (data.series.length === 0) return <p className="muted">No GPU was used in this period.</p>;
  return <div ref={host} className="chart" role="img" aria-label={`GPU-hours by ${data.by} over time: ${data.series.map((s) => s.name).join(', ')}`} />;
}

/** The chart's inner width: the host's box less its padding (uPlot sizes the canvas, not the box). */
function plotWidth(el: HTMLElement): number {
  const style = getComputedStyle(el);
  return Math.max(320, el.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight));
}
