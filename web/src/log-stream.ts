// Follows a job's log over the server's SSE route with fetch() + ReadableStream; the session
// cookie goes with it (same origin), as it would with EventSource, and a refusal's error body can
// be read. Invariant: `onLog` sees chunks in order, each starting where the previous one ended;
// `onEnd` is called once, after the last chunk, when the attempt has ended.

export interface LogEvent {
  text: string;
  offset: number;
  nextOffset: number;
  size: number;
  attempt: number;
}

export interface EndEvent {
  attempt: number | null;
  state: string | null;
  exitCode?: number | null;
  endReason?: string | null;
}

export interface StreamHandlers {
  onLog(event: LogEvent): void;
  onEnd(event: EndEvent): void;
  onError(message: string): void;
}

/** Opens the stream from `offset`; the returned function closes it. */
export function followLog(jobId: number, attempt: number | null, offset: number, handlers: StreamHandlers): () => void {
  const controller = new AbortController();
  const query = new URLSearchParams({ offset: String(offset) });
  if (attempt !== null) query.set('attempt', String(attempt));
  void (async () => {
    try {
      const response = await fetch(`/api/v1/jobs/${jobId}/logs/stream?${query}`, { credentials: 'same-origin', signal: controller.signal });
      if (!response.ok || !response.body) {
        const body = (await response.json().catch(() => ({}))) as { message?: string };
        handlers.onError(body.message ?? `log stream refused (${response.status})`);
        return;
      }
      await readEvents(response.body, (event, data) => {
        if (event === 'log') handlers.onLog(JSON.parse(data) as LogEvent);
        else if (event === 'end') handlers.onEnd(JSON.parse(data) as EndEvent);
        else if (event === 'error') handlers.onError((JSON.parse(data) as { message: string }).message);
      });
    } catch (error) {
      if (!controller.signal.aborted) handlers.onError(error instanceof Error ? error.message : String(error));
    }
  })();
  return () => controller.abort();
}

async function readEvents(body: ReadableStream<Uint8Array>, emit: (event: string, data: string) => void): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      if (data.length > 0) emit(event, data.join('\n'));
    }
  }
}
