/**
 * A first-in first-out queue in a circular array, for the queues every input passes through
 * (an instance's accepted inputs waiting for room in flight; the guest's deliveries read off
 * the submit ring, waiting their turn).
 *
 * Why not an array's `push`/`shift`: `shift` moves every element left, and in a long-lived
 * array (old generation) each moved element that is young is a slot V8 must record again
 * for the next scavenge — the guest shifting a queue of up to 64 fresh deliveries per input
 * spent ~10 % of its time in that write barrier (`perf`: `Builtins_RecordWriteSaveFP`, from
 * the delivery loop); and an instance whose application submitted a burst of 8,192 frames
 * took ~36 µs per frame instead of ~3, all in `shift` (V8 moved the elements rather than
 * trim the array). Here a push writes one cell and a shift clears one: no element moves,
 * and nothing is allocated unless the queue outgrows its cells.
 *
 * @example
 * ```ts
 * const queue = new FifoQueue<string>();
 * queue.push('a');
 * queue.push('b');
 * queue.peek(); // 'a'
 * queue.shift(); // 'a'
 * queue.size; // 1
 * ```
 */
export class FifoQueue<T> {
  #cells: (T | undefined)[];
  #mask: number;
  #head = 0;
  #size = 0;

  /** @param capacity initial cells (rounded up to a power of two, at least 8); it doubles as needed. */
  constructor(capacity = 16) {
    const cells = 2 ** Math.ceil(Math.log2(Math.max(8, capacity)));
    this.#cells = new Array<T | undefined>(cells).fill(undefined);
    this.#mask = cells - 1;
  }

  /** Items in the queue. */
  get size(): number {
    return this.#size;
  }

  /** Adds `item` at the back. */
  push(item: T): void {
    if (this.#size === this.#cells.length) this.#grow();
    this.#cells[(this.#head + this.#size) & this.#mask] = item;
    this.#size += 1;
  }

  /** The front item, left in place; undefined when empty. */
  peek(): T | undefined {
    return this.#size === 0 ? undefined : this.#cells[this.#head];
  }

  /** Removes and returns the front item; undefined when empty. */
  shift(): T | undefined {
    if (this.#size === 0) return undefined;
    const item = this.#cells[this.#head];
    // Cleared, so the queue holds nothing it handed out.
    this.#cells[this.#head] = undefined;
    this.#head = (this.#head + 1) & this.#mask;
    this.#size -= 1;
    return item;
  }

  /** Puts `items` at the front, in their order (the first of them becomes the front item). */
  unshiftAll(items: readonly T[]): void {
    while (this.#size + items.length > this.#cells.length) this.#grow();
    for (let i = items.length - 1; i >= 0; i--) {
      this.#head = (this.#head - 1) & this.#mask;
      this.#cells[this.#head] = items[i];
      this.#size += 1;
    }
  }

  /**
   * Removes and returns the item nearest the front that `matches`; undefined when none does.
   * Costs the items in front of it (none when it is the front item).
   */
  removeFirst(matches: (item: T) => boolean): T | undefined {
    for (let i = 0; i < this.#size; i++) {
      const item = this.#cells[(this.#head + i) & this.#mask] as T;
      if (!matches(item)) continue;
      // Close the gap from the front: the items ahead of it each move back one cell.
      for (let j = i; j > 0; j--) this.#cells[(this.#head + j) & this.#mask] = this.#cells[(this.#head + j - 1) & this.#mask];
      this.#cells[this.#head] = undefined;
      this.#head = (this.#head + 1) & this.#mask;
      this.#size -= 1;
      return item;
    }
    return undefined;
  }

  /** Removes every item and returns them, front first. */
  takeAll(): T[] {
    const items: T[] = [];
    while (this.#size > 0) items.push(this.shift() as T);
    return items;
  }

  #grow(): void {
    const cells = this.#cells;
    const grown = new Array<T | undefined>(cells.length * 2).fill(undefined);
    for (let i = 0; i < this.#size; i++) grown[i] = cells[(this.#head + i) & this.#mask];
    this.#cells = grown;
    this.#mask = grown.length - 1;
    this.#head = 0;
  }
}
