// A set of node positions (0 … capacity-1) that yields its members in ascending order, so that
// "the first node in cluster order that qualifies" is found without scanning empty stretches.
// Two-level bitset: `words` hold the members, bit w of `summary` says whether words[w] is non-zero.
// Always: summary bit w is set exactly when words[w] !== 0, and `size` counts the members.

function lowestBit(word: number): number {
  return 31 - Math.clz32(word & -word);
}

/** Bits of a 32-bit word at positions ≥ from (from in 0…31). */
function fromBit(word: number, from: number): number {
  return (word & (0xffffffff << from)) >>> 0;
}

export class NodeSet {
  private readonly words: Uint32Array;
  private readonly summary: Uint32Array;
  size = 0;

  constructor(capacity: number) {
    this.words = new Uint32Array(Math.ceil(capacity / 32) + 1);
    this.summary = new Uint32Array(Math.ceil(this.words.length / 32) + 1);
  }

  has(i: number): boolean {
    return ((this.words[i >>> 5]! >>> (i & 31)) & 1) === 1;
  }

  add(i: number): void {
    if (this.has(i)) return;
    const w = i >>> 5;
    this.words[w] = (this.words[w]! | (1 << (i & 31))) >>> 0;
    this.summary[w >>> 5] = (this.summary[w >>> 5]! | (1 << (w & 31))) >>> 0;
    this.size++;
  }

  delete(i: number): void {
    if (!this.has(i)) return;
    const w = i >>> 5;
    this.words[w] = (this.words[w]! & ~(1 << (i & 31))) >>> 0;
    if (this.words[w] === 0) this.summary[w >>> 5] = (this.summary[w >>> 5]! & ~(1 << (w & 31))) >>> 0;
    this.size--;
  }

  /** The smallest member ≥ from, or -1. */
  next(from: number): number {
    const w = from >>> 5;
    if (w >= this.words.length) return -1;
    const inWord = fromBit(this.words[w]!, from & 31);
    if (inWord !== 0) return (w << 5) + lowestBit(inWord);
    const word = this.nextWord(w + 1);
    return word < 0 ? -1 : (word << 5) + lowestBit(this.words[word]!);
  }

  /** The first non-empty word at position ≥ from, or -1. */
  private nextWord(from: number): number {
    let s = from >>> 5;
    if (s >= this.summary.length) return -1;
    let bits = fromBit(this.summary[s]!, from & 31);
    while (bits === 0) {
      s++;
      if (s >= this.summary.length) return -1;
      bits = this.summary[s]!;
    }
    return (s << 5) + lowestBit(bits);
  }
}
