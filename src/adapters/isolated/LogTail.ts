/**
 * The last bytes a child wrote to stdout or stderr. Isolated plugins' output pipes are
 * always drained (an unread pipe blocks a child's exit: RELIABILITY E10), but kept only up
 * to `capacity` bytes, so a flood costs bounded memory and a failure still carries the tail.
 */
export class LogTail {
  readonly capacity: number;
  #chunks: Buffer[] = [];
  #bytes = 0;
  #total = 0;

  constructor(capacity = 8 * 1024) {
    this.capacity = capacity;
  }

  /** Bytes written in all, kept or not. */
  get total(): number {
    return this.#total;
  }

  push(chunk: Buffer): void {
    this.#total += chunk.byteLength;
    const kept = chunk.byteLength > this.capacity ? chunk.subarray(chunk.byteLength - this.capacity) : chunk;
    this.#chunks.push(Buffer.from(kept));
    this.#bytes += kept.byteLength;
    while (this.#bytes - (this.#chunks[0]?.byteLength ?? 0) >= this.capacity) {
      const dropped = this.#chunks.shift();
      this.#bytes -= dropped?.byteLength ?? 0;
    }
  }

  /** The kept tail as text (at most `capacity` bytes, cut at the front). */
  text(): string {
    const all = Buffer.concat(this.#chunks);
    return all.subarray(Math.max(0, all.byteLength - this.capacity)).toString('utf8');
  }
}
