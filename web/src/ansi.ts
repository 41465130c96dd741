// ANSI escape sequences in log lines → styled segments. SGR colour codes (the 8/16 standard
// colours, bold, dim, italic, underline and resets) are rendered; every other sequence is removed
// so that none shows as raw text: other CSI sequences (cursor moves, 256/true colour), OSC strings
// (hyperlinks, window titles: ESC ] ... BEL or ESC \\), DCS, SOS, PM and APC strings (ESC P, X, ^,
// _ ... ESC \\), two-character escapes (ESC c, ESC 7, ESC ( B, ...), their 8-bit C1 forms, and a
// lone ESC. Invariant: no ESC or C1 control ever reaches the page; each line starts unstyled.
// Hand-written, not `anser`/`ansi_up`: this session may not add npm packages (engineers share one
// tree), and the parser is one regular expression with unit tests (test/security/small-ones.test.ts).

export interface Segment {
  text: string;
  classes: string;
}

// One alternative per kind: CSI (group 1: parameters, group 2: final byte), control strings up to
// their terminator or the end of the line, two-character escapes, a trailing ESC, C1 controls.
const SEQUENCE =
  // eslint-disable-next-line no-control-regex
  /(?:\x1b\[|\x9b)([0-?]*)[ -/]*([@-~])|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[\s\S]*?(?:\x07|\x1b\\|\x9c|$)|\x1b[ -/]*[0-~]|\x1b$|[\x80-\x9f]/g;
// eslint-disable-next-line no-control-regex
const LONE_ESC = /\x1b/g;

export function parseAnsi(line: string): Segment[] {
  // eslint-disable-next-line no-control-regex
  if (!/[\x1b\x80-\x9f]/.test(line)) return [{ text: line, classes: '' }];
  const segments: Segment[] = [];
  let state = { fg: '', bg: '', bold: false, dim: false, italic: false, underline: false };
  let last = 0;
  const push = (raw: string) => {
    const text = raw.replace(LONE_ESC, '');
    if (!text) return;
    const c = [state.fg && `fg-${state.fg}`, state.bg && `bg-${state.bg}`, state.bold && 'b', state.dim && 'dim', state.italic && 'i', state.underline && 'u'].filter(Boolean).join(' ');
    segments.push({ text, classes: c });
  };
  for (const match of line.matchAll(SEQUENCE)) {
    push(line.slice(last, match.index));
    last = match.index + match[0].length;
    if (match[2] !== 'm' || !/^[0-9;]*$/.test(match[1]!)) continue;
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
  push(line.slice(last));
  return segments;
}

/** The line without escape sequences (for search and download). */
export function stripAnsi(line: string): string {
  return line.replace(SEQUENCE, '').replace(LONE_ESC, '');
}
