// A fixed-size array of numbers that answers "smallest value, and where" in O(1) and takes a new
// value at one position in O(log n): a segment tree over Float64Array.
// Always: every inner slot holds the minimum of its two children; unset positions hold Infinity.

export class MinTree {
  private readonly size: number;
  private readonly slots: Float64Array;

  constructor(length: number) {
    let size = 1;
    while (size < length) size *= 2;
    this.size = size;
    this.slots = new Float64Array(2 * size).fill(Infinity);
  }

  set(position: number, value: number): void {
    let i = position + this.size;
    this.slots[i] = value;
    for (i >>= 1; i >= 1; i >>= 1) {
      const low = Math.min(this.slots[2 * i]!, this.slots[2 * i + 1]!);
      if (this.slots[i] === low) break;
      this.slots[i] = low;
    }
  }

  min(): number {
    return this.slots[1]!;
  }

  /** The lowest position holding the minimum (meaningless when the minimum is Infinity). */
  argmin(): number {
    let i = 1;
    while (i < this.size) i = this.slots[2 * i] === this.slots[i] ? 2 * i : 2 * i + 1;
    return i - this.size;
  }
}
