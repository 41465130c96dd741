// What the CLI prints of user-controlled text (job names, owners, reasons, a job's output) must
// not drive the terminal it is printed on: an OSC 52 writes the reader's clipboard, OSC 0 retitles
// the window, DCS/APC strings reach terminal extensions. Invariants: fields (one-line values in
// tables and `stint job`) keep only printable text and SGR colour codes; a job's output on a
// terminal keeps everything a progress bar needs (CSI cursor moves, \r, colours) but loses OSC,
// DCS, SOS, PM and APC strings and 8-bit C1 controls, also when a string is split across chunks.
// Hand-written (a few lines of regular expressions) rather than a library: the ANSI libraries on
// npm render to HTML, and none is a dependency already.

/** SGR (colour) is the one escape a field may keep; every other control becomes visible. */
export function safeField(text: string): string {
  return text
    .replace(/\u001b(?!\[[0-9;]*m)/g, '^[')
    .replace(/[\u0000-\u0008\u000a-\u001a\u001c-\u001f\u007f-\u009f]/g, '?');
}

// A string escape: ESC ] (OSC), ESC P (DCS), ESC X (SOS), ESC ^ (PM), ESC _ (APC), up to BEL or ST.
const STRING_START = /\u001b[\]PX^_]/;
const STRING_WHOLE = /\u001b[\]PX^_][\s\S]*?(?:\u0007|\u001b\\)/g;
const C1 = /[\u0080-\u009f]/g;
/** How much of an unterminated string is held back waiting for its end before it is dropped. */
const MAX_HELD = 4096;

/** Strips string escapes from a stream of output chunks (a job's log on a terminal). */
export class TerminalFilter {
  private held = '';

  push(chunk: string): string {
    let text = (this.held + chunk).replace(STRING_WHOLE, '');
    this.held = '';
    const open = text.search(STRING_START);
    if (open >= 0) {
      const rest = text.slice(open);
      this.held = rest.length <= MAX_HELD ? rest : '';
      text = text.slice(0, open);
    } else if (text.endsWith('\u001b')) {
      this.held = '\u001b';
      text = text.slice(0, -1);
    }
    return text.replace(C1, '');
  }
}
