// ANSI SGR colour codes in log lines → styled segments. Handles the 8/16 standard colours, bold,
// dim, italic, underline and resets; other escape sequences (cursor moves, 256/true colour) are
// removed so they never show as garbage. Each line starts unstyled.

export interface Segment {
  text: string;
  classes: string;
}

// eslint-disable-next-line no-control-regex
const ESCAPE = /\x1b\[([0-9;?]*)([A-Za-z])/g;

export function parseAnsi(line: string): Segment[] {
  if (!line.includes('\x1b')) return [{ text: line, classes: '' }];
  const segments: Segment[] = [];
  let state = { fg: '', bg: '', bold: false, dim: false, italic: false, underline: false };
  let last = 0;
  const push = (text: string) => {
    if (!text) return;
    const c = [state.fg && `fg-${state.fg}`, state.bg && `bg-${state.bg}`, state.bold && 'b', state.dim && 'dim', state.italic && 'i', state.underline && 'u'].filter(Boolean).join(' ');
    segments.push({ text, classes: c });
  };
  for (const match of line.matchAll(ESCAPE)) {
    push(line.slice(last, match.index));
    last = match.index + match[0].length;
    if (match[2] !== 'm') continue;
    const codes = (match[1] || '0').split(';').map(Number);
    for (let i = 0; i < codes.length; i++) {
      const code = codes[i]!;
      if (code === 0) state = { fg: '', bg: '', bold: false, dim: false, italic: false, underline: false };
      else if (code === 1) state.bold = true;
      else if (code === 2) state.dim = true;
      else if (code === 3) state.italic = true;
      else if (code === 4) state.underline = true;
      else if (code === 22) state.bold = state.dim = false;
      else if (code === 23) state.italic = false;
      else if (code === 24) state.underline = false;
      else if (code >= 30 && code <= 37) state.fg = String(code - 30);
      else if (code >= 90 && code <= 97) state.fg = String(code - 90 + 8);
      else if (code === 39) state.fg = '';
      else if (code >= 40 && code <= 47) state.bg = String(code - 40);
      else if (code >= 100 && code <= 107) state.bg = String(code - 100 + 8);
      else if (code === 49) state.bg = '';
      else if (code === 38 || code === 48) i += codes[i + 1] === 5 ? 2 : 4; // 256 / true colour: skipped
    }
  }
  push(line.slice(last).replace(/\x1b/g, ''));
  return segments;
}

/** The line without escape sequences (for search and download). */
export function stripAnsi(line: string): string {
  return line.replace(ESCAPE, '');
}
