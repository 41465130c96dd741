// A job attempt's log: the tail first (TAIL_BYTES), earlier parts on demand, then live bytes from
// the SSE stream. Lines are virtualised (only the visible ones are in the DOM), so a log of any
// size stays smooth; at most MAX_LINES are kept in memory (the oldest are dropped and can be
// loaded again). Follow keeps the newest line in view; scrolling up pauses it. Search highlights
// and jumps between matches; Download fetches the whole log.

import { useEffect, useMemo, useRef, useState, type ReactNode, type UIEvent } from 'react';
import { errorText } from '../api.js';
import { parseAnsi, stripAnsi } from '../ansi.js';
import { bytes } from '../format.js';
import { followLog } from '../log-stream.js';
import { useSession } from '../session.js';

const TAIL_BYTES = 256 * 1024;
const PAGE_BYTES = 512 * 1024;
const MAX_LINES = 200_000;
const LINE_PX = 18;
const OVERSCAN = 30;
const MIN_BOX_PX = 120;
const MAX_BOX_PX = 520;
const STATUS_TEXT: Record<string, string> = { loading: 'loading…', waiting: 'waiting for the job to start', live: '● live', ended: 'ended' };
const encoder = new TextEncoder();

class LogLines {
  lines: string[] = [''];
  /** Byte offset in the log of lines[0]. */
  start = 0;
  /** Byte offset in the log just past the last byte held. */
  end = 0;

  append(text: string): void {
    const parts = text.split('\n');
    this.lines[this.lines.length - 1] += parts[0]!;
    for (let i = 1; i < parts.length; i++) this.lines.push(parts[i]!);
    this.end += encoder.encode(text).length;
    if (this.lines.length > MAX_LINES) {
      const dropped = this.lines.splice(0, this.lines.length - MAX_LINES);
      this.start += encoder.encode(dropped.join('\n') + '\n').length;
    }
  }

  prepend(text: string, offset: number): void {
    const parts = text.split('\n');
    this.lines[0] = parts[parts.length - 1]! + this.lines[0];
    this.lines.unshift(...parts.slice(0, -1));
    this.start = offset;
  }

  /** Lines to show: a trailing empty line (after the last newline) is not one. */
  get count(): number {
    return this.lines[this.lines.length - 1] === '' ? this.lines.length - 1 : this.lines.length;
  }
}

export function LogView({ jobId, attempt, live }: { jobId: number; attempt: number | null; live: boolean }) {
  const { api } = useSession();
  const store = useRef(new LogLines());
  const [version, setVersion] = useState(0);
  const [status, setStatus] = useState<string>('loading');
  const [error, setError] = useState<string | null>(null);
  const [follow, setFollow] = useState(true);
  const [search, setSearch] = useState('');
  const [current, setCurrent] = useState(0);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(480);
  const box = useRef<HTMLDivElement>(null);
  const bump = () => setVersion((v) => v + 1);

  useEffect(() => {
    store.current = new LogLines();
    let close = () => {};
    let cancelled = false;
    (async () => {
      try {
        const tail = await api.logs(jobId, { offset: -TAIL_BYTES, limit: TAIL_BYTES, attempt: attempt ?? undefined });
        if (cancelled) return;
        // A job not yet placed has no log: its first attempt's is followed from the start.
        const placed = tail.attempt !== null;
        store.current.start = store.current.end = placed ? tail.offset : 0;
        store.current.append(tail.text);
        bump();
        if (tail.done || !live) {
          setStatus('ended');
          return;
        }
        setStatus(placed ? 'live' : 'waiting');
        close = followLog(jobId, tail.attempt ?? attempt, placed ? tail.nextOffset : 0, {
          onLog: (e) => {
            if (e.offset !== store.current.end && store.current.end !== 0) store.current.end = e.offset;
            store.current.append(e.text);
            setStatus('live');
            bump();
          },
          onEnd: () => setStatus('ended'),
          onError: (message) => setError(message),
        });
      } catch (e) {
        if (!cancelled) setError(errorText(e));
      }
    })();
    return () => {
      cancelled = true;
      close();
    };
  }, [api, jobId, attempt, live]);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const observer = new ResizeObserver(() => setHeight(el.clientHeight));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  const lines = store.current;
  const count = lines.count;
  const matches = useMemo(() => {
    if (!search) return [];
    const needle = search.toLowerCase();
    const found: number[] = [];
    for (let i = 0; i < count; i++) if (stripAnsi(lines.lines[i]!).toLowerCase().includes(needle)) found.push(i);
    return found;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [search, version]);

  useEffect(() => {
    if (follow && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [version, follow]);

  const onScroll = (e: UIEvent<HTMLDivElement>) => {
    const el = e.currentTarget;
    setScrollTop(el.scrollTop);
    const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < LINE_PX * 2;
    if (!atBottom && follow) setFollow(false);
  };

  const jump = (delta: number) => {
    if (matches.length === 0) return;
    const next = (current + delta + matches.length) % matches.length;
    setCurrent(next);
    setFollow(false);
    if (box.current) box.current.scrollTop = Math.max(0, matches[next]! * LINE_PX - height / 2);
  };

  const loadEarlier = async () => {
    const from = Math.max(0, lines.start - PAGE_BYTES);
    try {
      const chunk = await api.logs(jobId, { offset: from, limit: lines.start - from, attempt: attempt ?? undefined });
      const before = box.current?.scrollHeight ?? 0;
      lines.prepend(chunk.text, from);
      setFollow(false);
      bump();
      requestAnimationFrame(() => {
        if (box.current) box.current.scrollTop += box.current.scrollHeight - before;
      });
    } catch (e) {
      setError(errorText(e));
    }
  };

  const download = async () => {
    try {
      const parts: string[] = [];
      let offset = 0;
      for (;;) {
        const chunk = await api.logs(jobId, { offset, limit: 16 * 1024 * 1024, attempt: attempt ?? undefined });
        parts.push(chunk.text);
        if (chunk.nextOffset >= chunk.size || chunk.text === '') break;
        offset = chunk.nextOffset;
      }
      const url = URL.createObjectURL(new Blob(parts, { type: 'text/plain' }));
      const a = document.createElement('a');
      a.href = url;
      a.download = `job-${jobId}${attempt ? `-attempt-${attempt}` : ''}.log`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (e) {
      setError(errorText(e));
    }
  };

  const first = Math.max(0, Math.floor(scrollTop / LINE_PX) - OVERSCAN);
  const last = Math.min(count, Math.ceil((scrollTop + height) / LINE_PX) + OVERSCAN);
  const needle = search.toLowerCase();
  const currentLine = matches[current];
  return (
    <div className="log-view">
      <div className="log-tools">
        <button type="button" aria-pressed={follow} onClick={() => setFollow(!follow)}>
          {follow ? 'Pause' : 'Follow'}
        </button>
        <label className="inline">
          <span className="sr-only">Search the log</span>
          <input type="search" placeholder="search the log" value={search} onChange={(e) => { setSearch(e.target.value); setCurrent(0); }} onKeyDown={(e) => { if (e.key === 'Enter') jump(e.shiftKey ? -1 : 1); }} />
        </label>
        <button type="button" onClick={() => jump(-1)} disabled={matches.length === 0} aria-label="Previous match">↑</button>
        <button type="button" onClick={() => jump(1)} disabled={matches.length === 0} aria-label="Next match">↓</button>
        <span className="muted" aria-live="polite">{search ? `${matches.length} match${matches.length === 1 ? '' : 'es'}` : ''}</span>
        <span className="spacer" />
        <span className="muted log-status" data-status={status}>
          {STATUS_TEXT[status] ?? status} · {bytes(lines.end)}
        </span>
        <button type="button" onClick={() => void download()}>Download</button>
      </div>
      {error && <p className="error" role="alert">{error}</p>}
      {lines.start > 0 && (
        <button type="button" className="earlier" onClick={() => void loadEarlier()}>
          Load earlier output ({bytes(lines.start)} before this)
        </button>
      )}
      <div className="log-box" ref={box} onScroll={onScroll} tabIndex={0} role="log" aria-label="Job output" data-testid="log" style={{ height: Math.min(MAX_BOX_PX, Math.max(MIN_BOX_PX, count * LINE_PX + 16)) }}>
        <div style={{ height: count * LINE_PX, position: 'relative' }}>
          {count === 0 && status !== 'loading' && <div className="muted log-empty">No output yet.</div>}
          {Array.from({ length: Math.max(0, last - first) }, (_, k) => {
            const i = first + k;
            return (
              <div key={i} className={`log-line${i === currentLine ? ' current' : ''}${i === 0 && lines.start > 0 ? ' partial' : ''}`} style={{ top: i * LINE_PX }} title={i === 0 && lines.start > 0 ? 'the start of this line is in the earlier output' : undefined}>
                {parseAnsi(lines.lines[i]!).map((s, j) => (
                  <span key={j} className={s.classes || undefined}>{highlight(s.text, needle)}</span>
                ))}
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
}

function highlight(text: string, needle: string) {
  if (!needle) return text;
  const lower = text.toLowerCase();
  const out: Array<string | ReactNode> = [];
  let at = 0;
  for (let i = lower.indexOf(needle); i >= 0; i = lower.indexOf(needle, at)) {
    out.push(text.slice(at, i), <mark key={i}>{text.slice(i, i + needle.length)}</mark>);
    at = i + needle.length;
  }
  out.push(text.slice(at));
  return out;
}
