import { describe, expect, it } from 'vitest';
import { TerminalFilter, safeField } from './terminal-safe.js';

const ESC = '\u001b';

describe('safeField', () => {
  it('keeps text and colours, shows every other control', () => {
    expect(safeField(`train ${ESC}[31mred${ESC}[0m`)).toBe(`train ${ESC}[31mred${ESC}[0m`);
    expect(safeField(`${ESC}]52;c;ZXZpbA==\u0007x`)).toBe('^[]52;c;ZXZpbA==?x');
    expect(safeField(`a${ESC}[2Jb\nc\rd\u009be`)).toBe('a^[[2Jb?c?d?e');
  });
});

describe('TerminalFilter', () => {
  it('strips OSC, DCS and APC strings and C1 controls, keeps CSI, colours and \\r', () => {
    const f = new TerminalFilter();
    const text = `a${ESC}]0;title\u0007b${ESC}]52;c;ZXZpbA==${ESC}\\c${ESC}Pq#0${ESC}\\d${ESC}_apc${ESC}\\e\u009d0;x\u0007 10%\r${ESC}[A${ESC}[32m20%${ESC}[0m`;
    expect(f.push(text)).toBe(`abcde0;x\u0007 10%\r${ESC}[A${ESC}[32m20%${ESC}[0m`);
  });

  it('strips a string split across chunks, at any split point', () => {
    const text = `before${ESC}]52;c;ZXZpbA==\u0007after`;
    for (let cut = 0; cut <= text.length; cut++) {
      const f = new TerminalFilter();
      expect(f.push(text.slice(0, cut)) + f.push(text.slice(cut)), `cut at ${cut}`).toBe('beforeafter');
    }
  });

  it('drops an unterminated string once it is longer than it may be held', () => {
    const f = new TerminalFilter();
    expect(f.push(`x${ESC}]0;${'t'.repeat(5000)}`)).toBe('x');
    expect(f.push('y')).toBe('y');
  });
});
