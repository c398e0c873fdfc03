/**
 * A map from sequence numbers (non-negative safe integers) to values, for the tables an input
 * passes through on the hot path: added when it is handed over, deleted when it settles, a
 * few dozen live at a time and millions over a run.
 *
 * Why not a `Map`: V8 rehashes a `Map` whose deleted entries fill its table, and the table it
 * leaves behind keeps a pointer to the new one (for live iterators). Once one table of a
 * long-lived `Map` is in the old generation, each of its successors (and every value it
 * holds) is kept alive through that pointer by the next scavenge and promoted by the one
 * after: measured on the embedded host, 13–30 % of everything it allocated was promoted, and
 * scavenges took 4–9 ms instead of well under one, stalling the pipeline meanwhile. This
 * table is open addressing in two arrays, probed linearly from `key & mask` (consecutive keys
 * take consecutive cells) with backward-shift deletion: no tombstones, no rehash while its
 * size stays put, no allocation except when it grows.
 *
 * Robin Hood order: an insert that reaches a key nearer its home cell than itself takes that
 * key's cell and carries the key on. That is what lets a deletion stop at the first key
 * already at home — in plain linear probing it must scan to the next empty cell, and deleting
 * the oldest of a window of consecutive sequence numbers (the input that settles) walked the
 * whole window: 64 cells per settle, ~5 % of the embedded host's time at 64 in flight.
 * Lookups stop as early, at a key nearer its home than the probe.
 *
 * Iteration (`keys`, `values`, `entries`, `for…of`) is in ascending key order, which for
 * sequence numbers is the order they were handed over; it sorts, so it is for the rare paths
 * (a fence, a lost generation), not per input.
 *
 * @example
 * ```ts
 * const inFlight = new SeqMap<string>();
 * inFlight.set(7, 'frame 7');
 * inFlight.get(7); // 'frame 7'
 * inFlight.delete(7); // true
 * ```
 */
export class SeqMap<V> implements Iterable<[number, V]> {
  #keys: number[];
  #values: (V | undefined)[];
  #mask: number;
  #size = 0;

  /** @param capacity initial cells (rounded up to a power of two, at least 8); it grows as needed. */
  constructor(capacity = 16) {
    const cells = 2 ** Math.ceil(Math.log2(Math.max(8, capacity)));
    this.#keys = new Array<number>(cells).fill(EMPTY);
    this.#values = new Array<V | undefined>(cells).fill(undefined);
    this.#mask = cells - 1;
  }

  /** Entries in the map. */
  get size(): number {
    return this.#size;
  }

  /** Cells of the table: it doubles when more than half are taken, and never shrinks. */
  get capacity(): number {
    return this.#keys.length;
  }

  get(key: number): V | undefined {
    const i = this.#find(key);
    return i < 0 ? undefined : this.#values[i];
  }

  has(key: number): boolean {
    return this.#find(key) >= 0;
  }

  /** @throws RangeError when `key` is not a non-negative safe integer. */
  set(key: number, value: V): this {
    if (!Number.isSafeInteger(key) || key < 0) throw new RangeError(`SeqMap: a key must be a non-negative safe integer, got ${key}`);
    const found = this.#find(key);
    if (found >= 0) {
      this.#values[found] = value;
      return this;
    }
    const keys = this.#keys;
    const values = this.#values;
    const mask = this.#mask;
    let carriedKey = key;
    let carriedValue: V | undefined = value;
    let distance = 0;
    for (let i = key & mask; ; i = (i + 1) & mask) {
      const k = keys[i] ?? EMPTY;
      if (k === EMPTY) {
        keys[i] = carriedKey;
        values[i] = carriedValue;
        break;
      }
      const theirs = (i - (k & mask)) & mask;
      if (theirs < distance) {
        // Robin Hood: the key further from home takes the cell, the other one moves on.
        keys[i] = carriedKey;
        const v = values[i];
        values[i] = carriedValue;
        carriedKey = k;
        carriedValue = v;
        distance = theirs;
      }
      distance += 1;
    }
    this.#size += 1;
    // At most half full: probes stay short, and an empty cell always ends a probe.
    if (this.#size * 2 > keys.length) this.#grow();
    return this;
  }

  delete(key: number): boolean {
    const i = this.#find(key);
    if (i < 0) return false;
    const keys = this.#keys;
    const values = this.#values;
    const mask = this.#mask;
    // Backward shift: each following key that is away from home moves one cell back, until an
    // empty cell or a key at home (Robin Hood order: nothing after it has a claim on the hole).
    let hole = i;
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const k = keys[j] ?? EMPTY;
      if (k === EMPTY || (k & mask) === j) break;
      keys[hole] = k;
      values[hole] = values[j];
      hole = j;
    }
    keys[hole] = EMPTY;
    values[hole] = undefined;
    this.#size -= 1;
    return true;
  }

  /** The cell holding `key`, or -1. */
  #find(key: number): number {
    const keys = this.#keys;
    const mask = this.#mask;
    for (let i = key & mask, distance = 0; ; i = (i + 1) & mask, distance++) {
      const k = keys[i] ?? EMPTY;
      if (k === key) return i;
      // Empty, or a key nearer its home than this probe is to `key`'s: Robin Hood order would
      // have put `key` before it.
      if (k === EMPTY || ((i - (k & mask)) & mask) < distance) return -1;
    }
  }

  clear(): void {
    this.#keys.fill(EMPTY);
    this.#values.fill(undefined);
    this.#size = 0;
  }

  /** Keys in ascending order. */
  keys(): number[] {
    return this.#sortedCells().map((i) => this.#keys[i] ?? EMPTY);
  }

  /** Values in ascending key order. */
  values(): V[] {
    return this.#sortedCells().map((i) => this.#values[i] as V);
  }

  /** Entries in ascending key order. */
  entries(): [number, V][] {
    return this.#sortedCells().map((i) => [this.#keys[i] ?? EMPTY, this.#values[i] as V]);
  }

  [Symbol.iterator](): Iterator<[number, V]> {
    return this.entries()[Symbol.iterator]();
  }

  #sortedCells(): number[] {
    const cells: number[] = [];
    this.#keys.forEach((k, i) => {
      if (k !== EMPTY) cells.push(i);
    });
    return cells.sort((a, b) => (this.#keys[a] ?? 0) - (this.#keys[b] ?? 0));
  }

  #grow(): void {
    const keys = this.#keys;
    const values = this.#values;
    const cells = keys.length * 2;
    this.#keys = new Array<number>(cells).fill(EMPTY);
    this.#values = new Array<V | undefined>(cells).fill(undefined);
    this.#mask = cells - 1;
    this.#size = 0;
    keys.forEach((k, i) => {
      if (k !== EMPTY) this.set(k, values[i] as V);
    });
  }
}

/** Marks a free cell (keys are never negative). */
const EMPTY = -1;
