import { Buffer } from 'node:buffer';
import { DESCRIPTOR_BYTES, type RingLayout } from './segmentLayout.js';

/**
 * One entry of a ring: which slot holds the payload and what the payload is. Every field but
 * `timestamp` is an unsigned 32-bit integer, except `seq` (a safe integer up to 2^53 - 1).
 */
export interface Descriptor {
  /** Slot index in the segment's slot pool. */
  readonly slot: number;
  /** Payload bytes in the slot, at most `slotBytes`. */
  readonly length: number;
  /** Sequence number, a non-negative safe integer (stored as two u32 words). */
  readonly seq: number;
  /** Generation of the guest this descriptor belongs to. */
  readonly generation: number;
  /** Caller-defined tag (frame, message reference, outcome…). */
  readonly kind: number;
  readonly width: number;
  readonly height: number;
  /** Caller-defined pixel format code. */
  readonly formatCode: number;
  /** Any float64 (not validated: it is data, never an index). */
  readonly timestamp: number;
  /** Caller-defined word, e.g. an outcome code. */
  readonly aux: number;
  /**
   * Bytes of the entry's payload area a slot kind carries besides its slot (see
   * `DescriptorRingOptions.withExtra`, e.g. a frame's format name); 0 for any other kind.
   */
  readonly extra: number;
}

/**
 * A {@link Descriptor} a producer fills in place and pushes again and again: `tryPush` copies
 * it into shared memory, so one scratch object serves every push (no allocation per input).
 */
export type MutableDescriptor = { -readonly [K in keyof Descriptor]: Descriptor[K] };

/** A zeroed {@link MutableDescriptor} of `generation`: a producer's scratch for its pushes. */
export function scratchDescriptor(generation: number): MutableDescriptor {
  return { slot: 0, length: 0, seq: 0, generation, kind: 0, width: 0, height: 0, formatCode: 0, timestamp: 0, aux: 0, extra: 0 };
}

/** Which rule a peer-written value broke. */
export type RingViolationKind = 'ring_index' | 'slot' | 'length' | 'seq' | 'generation' | 'kind';

/** A peer broke the ring protocol. Reported as a value, never thrown at the host. */
export interface RingViolation {
  readonly ok: false;
  readonly violation: RingViolationKind;
  readonly detail: string;
}

/** Which end of the ring this object drives. Each end keeps its own counter privately. */
export type RingRole = 'producer' | 'consumer';

/** How a {@link DescriptorRing} end is set up. */
export interface DescriptorRingOptions {
  readonly role: RingRole;
  /** Slots of the segment: a descriptor's `slot` must be below it. */
  readonly slots: number;
  /** Usable bytes per slot: a descriptor's `length` must not exceed it. */
  readonly slotBytes: number;
  /** Consumer: descriptors of any other generation are violations. Omit to accept any. */
  readonly expectedGeneration?: number;
  /** Both ends: kinds at or above this are refused (consumer: violation; producer: RangeError). Default 2^32. */
  readonly kindLimit?: number;
  /** Kinds that carry no payload; their `slot` and `length` must both be 0. Default: every kind has a slot. */
  readonly isSlotless?: (kind: number) => boolean;
  /**
   * Kinds whose payload travels in the entry's own payload area (`RingLayout.payloadBytes`),
   * not in a slot: their `slot` must be 0 and their `length` at most `payloadBytes`. The
   * producer writes it into {@link DescriptorRing.reservePayload} before pushing; the consumer's
   * visitor gets a private copy. Checked before `isSlotless`. Default: none.
   */
  readonly inPayload?: (kind: number) => boolean;
  /**
   * Slot kinds that may also carry `extra` bytes (at most `payloadBytes`) in the entry's
   * payload area, written into {@link DescriptorRing.reservePayload} before pushing; the
   * consumer's visitor gets a private copy, as for `inPayload`. Any other kind's `extra` must
   * be 0. Default: none.
   */
  readonly withExtra?: (kind: number) => boolean;
  /** Called once, synchronously, when the first violation is found. */
  readonly onViolation?: (violation: RingViolation) => void;
}

// Word offsets inside a descriptor (16 u32 words; 13..15 reserved).
const W_SLOT = 0;
const W_LENGTH = 1;
const W_SEQ_LO = 2;
const W_SEQ_HI = 3;
const W_GENERATION = 4;
const W_KIND = 5;
const W_WIDTH = 6;
const W_HEIGHT = 7;
const W_FORMAT = 8;
const W_AUX = 9;
const W_EXTRA = 12;
/** Float64 index of the timestamp inside a descriptor: byte 40, 8-aligned. */
const F_TIMESTAMP = 5;
const DESCRIPTOR_WORDS = DESCRIPTOR_BYTES / 4;
const DESCRIPTOR_F64 = DESCRIPTOR_BYTES / 8;

const TWO_POW_32 = 2 ** 32;
const MAX_SAFE_HI = 2 ** 21 - 1;

function isU32(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value < TWO_POW_32;
}

/**
 * A single-producer/single-consumer ring of fixed-size descriptors in a SharedArrayBuffer.
 *
 * Protocol: the producer writes a descriptor with plain stores, then publishes it with
 * `Atomics.store(tail)`; the consumer reads `tail` with `Atomics.load`, copies descriptors
 * out, then returns them with `Atomics.store(head)`. Counters are free-running u32 values;
 * the index is `counter & (capacity - 1)`.
 *
 * The peer may be hostile. Each end therefore keeps its own counter in a private field (the
 * shared copy is only published, never read back), derives every index from that private
 * counter, reads the peer's counter once per use with `Atomics.load` (a producer only when the
 * last value it read leaves no room: the consumer only ever frees entries), and reads each
 * word of a descriptor out of shared memory exactly once, into a local, which is then
 * validated and used — shared memory is never read again for it, so a peer that flips words
 * cannot slip a value past validation (no double fetch: V8 keeps a loaded value in a register
 * or on the stack and never loads it again; the TOCTOU test, a thread rewriting entries while
 * they are drained, fails for code that reads a word twice). Any broken rule makes the ring
 * `violation`-ed: sticky, reported to `onViolation`, and from then on `drain` delivers
 * nothing and `tryPush` accepts nothing. The host's answer to a violation is to end the
 * guest, not to resynchronise with it.
 *
 * Validation is always on: it is a handful of integer compares on locals already loaded.
 * Measured (bench/transport/descriptorRing.bench.ts, Node 20, one thread): a push + drain
 * costs ~95–115 ns per descriptor (runs vary) against ~40–55 ns for an unchecked inline
 * copy of the same stores and the same single reads, so the checks and calls of both ends
 * come to ~50 ns — not worth a separate trusted path and its risk. (Reading the entry with
 * ten `Atomics.load`s made it ~270 ns, V8 does not inline them; copying it out with one
 * `TypedArray#set` ~130–160 ns: a builtin call into V8's relaxed copy for shared memory.)
 */
export class DescriptorRing {
  /** Descriptors the ring holds. */
  readonly capacity: number;
  readonly role: RingRole;
  readonly #mask: number;
  readonly #slots: number;
  readonly #slotBytes: number;
  readonly #kindLimit: number;
  readonly #isSlotless: ((kind: number) => boolean) | undefined;
  readonly #inPayload: ((kind: number) => boolean) | undefined;
  readonly #withExtra: ((kind: number) => boolean) | undefined;
  readonly #payloadOffset: number;
  readonly #payloadBytes: number;
  /** The payload areas, one Buffer view per entry (made on first use). */
  readonly #payloads: Buffer[] = [];
  /** Producer: the counter whose entry {@link reservePayload} found free (-1: none since the last push). */
  #reserved = -1;
  /** Consumer: where a payload is copied before its visitor sees it (never shared memory). */
  readonly #scratch: Buffer;
  /** Consumer: {@link #scratch} as words, copied into a word at a time. */
  readonly #scratchWords: Uint32Array;
  /**
   * Consumer: the one object every visit gets, refilled per descriptor. An object per
   * descriptor was young garbage the visitors never keep (paired bursts, 64 messages in
   * flight: ~10 % more messages per second without it). Its timestamp starts as a double,
   * the kind of value it holds, so the first one stored changes no field's representation.
   */
  readonly #visited: MutableDescriptor = { ...scratchDescriptor(0), timestamp: Number.NaN };
  /** Consumer: every entry's payload area as words (empty without payload kinds). */
  readonly #payloadWords: Uint32Array;
  readonly #sab: SharedArrayBuffer;
  readonly #onViolation: ((violation: RingViolation) => void) | undefined;
  #expectedGeneration: number | undefined;
  /** This end's counter (head for a consumer, tail for a producer). Never read back from shared memory. */
  #counter: number;
  /** Producer: the counter last stored to shared memory (below {@link #counter} while entries are staged). */
  #published: number;
  /** The peer's counter as last validated: a peer counter may only move forward. */
  #peerSeen: number;
  /** Consumer: the counter last stored to shared memory (a drain that took nothing stores nothing). */
  #returned: number;
  /** This end's shared counter word: only ever stored to. */
  readonly #own: Uint32Array;
  /** The peer's shared counter word: loaded once per use, validated. */
  readonly #peer: Uint32Array;
  readonly #words: Uint32Array;
  readonly #floats: Float64Array;
  #violation: RingViolation | undefined;
  #draining = false;

  /**
   * Sets both counters of a ring to `startCounter` (default 0). The host calls this once,
   * before either end is constructed and before the guest starts.
   */
  static initialize(sab: SharedArrayBuffer, ring: RingLayout, startCounter = 0): void {
    if (!isU32(startCounter)) throw new RangeError(`DescriptorRing.initialize: startCounter must be a u32, got ${startCounter}`);
    checkRingFits(sab, ring);
    Atomics.store(new Uint32Array(sab, ring.headOffset, 1), 0, startCounter);
    Atomics.store(new Uint32Array(sab, ring.tailOffset, 1), 0, startCounter);
  }

  /**
   * Attaches one end to a ring. The end's own counter is read once, here, from shared memory
   * (as left by {@link DescriptorRing.initialize}); the host attaches before the guest runs.
   *
   * @throws RangeError when the ring does not fit the buffer or an option is out of range.
   */
  constructor(sab: SharedArrayBuffer, ring: RingLayout, options: DescriptorRingOptions) {
    checkRingFits(sab, ring);
    if (!Number.isSafeInteger(options.slots) || options.slots < 1 || options.slots > TWO_POW_32) {
      throw new RangeError(`DescriptorRing: slots must be a positive integer, got ${options.slots}`);
    }
    if (!Number.isSafeInteger(options.slotBytes) || options.slotBytes < 1 || options.slotBytes >= TWO_POW_32) {
      throw new RangeError(`DescriptorRing: slotBytes must be a positive u32, got ${options.slotBytes}`);
    }
    const kindLimit = options.kindLimit ?? TWO_POW_32;
    if (!Number.isSafeInteger(kindLimit) || kindLimit < 1 || kindLimit > TWO_POW_32) {
      throw new RangeError(`DescriptorRing: kindLimit must be an integer in [1, 2^32], got ${kindLimit}`);
    }
    this.role = options.role;
    this.capacity = ring.capacity;
    this.#mask = ring.capacity - 1;
    this.#slots = options.slots;
    this.#slotBytes = options.slotBytes;
    this.#kindLimit = kindLimit;
    this.#isSlotless = options.isSlotless;
    this.#inPayload = options.inPayload;
    this.#withExtra = options.withExtra;
    this.#payloadOffset = ring.payloadOffset;
    this.#payloadBytes = ring.payloadBytes;
    const payloads = options.role === 'consumer' && (options.inPayload !== undefined || options.withExtra !== undefined);
    const scratch = new ArrayBuffer(payloads ? ring.payloadBytes : 0);
    this.#scratch = Buffer.from(scratch);
    this.#scratchWords = new Uint32Array(scratch);
    this.#payloadWords = payloads ? new Uint32Array(sab, ring.payloadOffset, (ring.capacity * ring.payloadBytes) / 4) : new Uint32Array(0);
    this.#sab = sab;
    this.#onViolation = options.onViolation;
    this.expectedGeneration = options.expectedGeneration;
    const head = new Uint32Array(sab, ring.headOffset, 1);
    const tail = new Uint32Array(sab, ring.tailOffset, 1);
    this.#own = options.role === 'consumer' ? head : tail;
    this.#peer = options.role === 'consumer' ? tail : head;
    this.#counter = Atomics.load(this.#own, 0);
    this.#published = this.#counter;
    this.#peerSeen = Atomics.load(this.#peer, 0);
    this.#returned = this.#counter;
    this.#words = new Uint32Array(sab, ring.descriptorsOffset, ring.capacity * DESCRIPTOR_WORDS);
    this.#floats = new Float64Array(sab, ring.descriptorsOffset, ring.capacity * DESCRIPTOR_F64);
  }

  /** Generation a consumer requires of every descriptor (`undefined`: any). */
  get expectedGeneration(): number | undefined {
    return this.#expectedGeneration;
  }

  set expectedGeneration(generation: number | undefined) {
    if (generation !== undefined && !isU32(generation)) {
      throw new RangeError(`DescriptorRing: expectedGeneration must be a u32, got ${generation}`);
    }
    this.#expectedGeneration = generation;
  }

  /** The first protocol violation seen, if any. Sticky. */
  get violation(): RingViolation | undefined {
    return this.#violation;
  }

  /**
   * Descriptors not yet consumed, as seen from this end (a producer counts the ones it staged
   * too; a consumer sees only published ones). 0 once the ring is
   * violated (a corrupt peer counter is detected here too).
   */
  size(): number {
    return Math.max(this.#used(), 0);
  }

  /** Room for more descriptors, as seen from this end. 0 once the ring is violated. */
  free(): number {
    const used = this.#used();
    return used < 0 ? 0 : this.capacity - used;
  }

  /**
   * Consumer: true when {@link drain} has something to do — descriptors to deliver or a
   * violation to report. The predicate to park on, so a violation wakes the consumer up.
   */
  hasPending(): boolean {
    return this.#used() !== 0;
  }

  /**
   * Producer: the payload area of the entry the next {@link tryPush} or {@link stage} fills, to write a payload
   * kind's bytes into first; undefined when the ring is full or violated (the entry may still
   * be the consumer's). Valid until that push, which then does not read the consumer's
   * counter again: the entry was free, and an honest consumer only frees more.
   */
  reservePayload(): Buffer | undefined {
    if (this.role !== 'producer') throw new Error('DescriptorRing.reservePayload: this end is the consumer');
    const used = this.#usedForPush();
    if (used < 0 || used === this.capacity) return undefined;
    this.#reserved = this.#counter;
    return this.#payloadAt(this.#counter & this.#mask);
  }

  #payloadAt(index: number): Buffer {
    let area = this.#payloads[index];
    if (area === undefined) {
      area = Buffer.from(this.#sab, this.#payloadOffset + index * this.#payloadBytes, this.#payloadBytes);
      this.#payloads[index] = area;
    }
    return area;
  }

  /**
   * Producer: writes `desc` and publishes it. False when the ring is full or violated.
   *
   * @throws RangeError when `desc` itself is malformed (a bug of this side, not peer input).
   */
  tryPush(desc: Descriptor): boolean {
    if (!this.stage(desc)) return false;
    this.publish();
    return true;
  }

  /**
   * Producer: writes `desc` into the next entry without publishing it; {@link publish} then
   * hands over every entry staged since the last publication at once. False when the ring
   * is full (staged entries count) or violated. Why: the publication is a SeqCst store to a
   * word the consumer keeps reading — its cache line moves to this core and back every time
   * (measured: ~12 % of the host's time at 64 frames in flight with a store per frame).
   *
   * @throws RangeError when `desc` itself is malformed (a bug of this side, not peer input).
   */
  stage(desc: Descriptor): boolean {
    if (this.role !== 'producer') throw new Error('DescriptorRing.stage: this end is the consumer');
    this.#checkOutgoing(desc);
    if (this.#violation !== undefined) return false;
    if (this.#reserved !== this.#counter) {
      const used = this.#usedForPush();
      if (used < 0 || used === this.capacity) return false;
    }
    this.#reserved = -1;
    const tail = this.#counter;
    const index = tail & this.#mask;
    const base = index * DESCRIPTOR_WORDS;
    const words = this.#words;
    words[base + W_SLOT] = desc.slot;
    words[base + W_LENGTH] = desc.length;
    words[base + W_SEQ_LO] = desc.seq >>> 0;
    words[base + W_SEQ_HI] = Math.floor(desc.seq / TWO_POW_32);
    words[base + W_GENERATION] = desc.generation;
    words[base + W_KIND] = desc.kind;
    words[base + W_WIDTH] = desc.width;
    words[base + W_HEIGHT] = desc.height;
    words[base + W_FORMAT] = desc.formatCode;
    words[base + W_AUX] = desc.aux;
    words[base + W_EXTRA] = desc.extra;
    this.#floats[index * DESCRIPTOR_F64 + F_TIMESTAMP] = desc.timestamp;
    this.#counter = (tail + 1) >>> 0;
    return true;
  }

  /** Producer: whether entries are staged and not yet published. */
  get hasStaged(): boolean {
    return this.#published !== this.#counter;
  }

  /**
   * Producer: publishes every staged entry (a no-op when none is). The SeqCst store orders
   * every plain store of those entries before it for a consumer that loads the tail.
   */
  publish(): void {
    const counter = this.#counter;
    if (this.#published === counter) return;
    this.#published = counter;
    Atomics.store(this.#own, 0, counter);
  }

  /**
   * Consumer: delivers up to `max` descriptors (pass `Infinity` for all) to `visit`, oldest
   * first, each validated, and returns how many were delivered. Re-reads the tail when the
   * batch it saw is exhausted, so one wake-up drains everything published meanwhile (bound
   * it with `max` so a fast producer cannot hold the caller forever).
   *
   * Stops at the first invalid descriptor: the ring becomes violated (see
   * {@link DescriptorRing.violation}) and that descriptor is not delivered. `visit` gets a
   * private copy of each descriptor and, for a payload kind (`inPayload`), a private copy of
   * its `length` payload bytes, copied once before the visit; both are valid only during it
   * (the same object and buffer are refilled for the next: keep values, not them); for other
   * kinds the buffer holds nothing of the descriptor's.
   * The head is published once per batch (each tail read), not per descriptor, to keep the
   * head's cache line from bouncing; also when `visit` throws, covering the descriptor it
   * threw on.
   *
   * @throws Error when called on a producer or re-entered from `visit`.
   */
  drain(max: number, visit: (desc: Descriptor, payload: Buffer) => void): number {
    if (this.role !== 'consumer') throw new Error('DescriptorRing.drain: this end is the producer');
    if (this.#draining) throw new Error('DescriptorRing.drain: not re-entrant (called from its own visitor)');
    if (!(max >= 0)) throw new RangeError(`DescriptorRing.drain: max must be >= 0, got ${max}`);
    if (this.#violation !== undefined) return 0;
    this.#draining = true;
    let delivered = 0;
    const words = this.#words;
    const floats = this.#floats;
    try {
      while (delivered < max) {
        const available = this.#used();
        if (available <= 0) break;
        const batch = Math.min(available, max - delivered);
        for (let i = 0; i < batch; i++) {
          const counter = this.#counter;
          const index = counter & this.#mask;
          // Single fetch: each word of the entry is read out of shared memory once, here, into
          // a local (plain loads, inlined; Atomics.load is a call and TypedArray#set a call into
          // a relaxed copy); only the locals are used below, so a peer rewriting the entry
          // meanwhile changes nothing.
          const base = index * DESCRIPTOR_WORDS;
          const slot = words[base + W_SLOT] ?? 0;
          const length = words[base + W_LENGTH] ?? 0;
          const seqLo = words[base + W_SEQ_LO] ?? 0;
          const seqHi = words[base + W_SEQ_HI] ?? 0;
          const generation = words[base + W_GENERATION] ?? 0;
          const kind = words[base + W_KIND] ?? 0;
          const width = words[base + W_WIDTH] ?? 0;
          const height = words[base + W_HEIGHT] ?? 0;
          const formatCode = words[base + W_FORMAT] ?? 0;
          const aux = words[base + W_AUX] ?? 0;
          const extra = words[base + W_EXTRA] ?? 0;
          const timestamp = floats[index * DESCRIPTOR_F64 + F_TIMESTAMP] ?? Number.NaN;
          if (kind >= this.#kindLimit) {
            this.#fail('kind', `descriptor ${counter}: kind ${kind} is not below ${this.#kindLimit}`);
            return delivered;
          }
          const inPayload = this.#inPayload !== undefined && this.#inPayload(kind);
          if (inPayload) {
            if (slot !== 0 || length > this.#payloadBytes) {
              this.#fail('length', `descriptor ${counter}: payload kind ${kind} names slot ${slot} with length ${length} (payload area: ${this.#payloadBytes} bytes)`);
              return delivered;
            }
          } else if (this.#isSlotless !== undefined && this.#isSlotless(kind)) {
            if (slot !== 0 || length !== 0) {
              this.#fail('slot', `descriptor ${counter}: slotless kind ${kind} names slot ${slot} with length ${length}`);
              return delivered;
            }
          } else {
            if (slot >= this.#slots) {
              this.#fail('slot', `descriptor ${counter}: slot ${slot} is not below ${this.#slots}`);
              return delivered;
            }
            if (length > this.#slotBytes) {
              this.#fail('length', `descriptor ${counter}: length ${length} exceeds the ${this.#slotBytes}-byte slot`);
              return delivered;
            }
          }
          if (extra !== 0 && (inPayload || this.#withExtra === undefined || !this.#withExtra(kind) || extra > this.#payloadBytes)) {
            this.#fail('length', `descriptor ${counter}: kind ${kind} carries ${extra} extra bytes (payload area: ${this.#payloadBytes} bytes, for the kinds that may)`);
            return delivered;
          }
          if (seqHi > MAX_SAFE_HI) {
            this.#fail('seq', `descriptor ${counter}: seq high word 0x${seqHi.toString(16)} makes seq unsafe`);
            return delivered;
          }
          const expected = this.#expectedGeneration;
          if (expected !== undefined && generation !== expected) {
            this.#fail('generation', `descriptor ${counter}: generation ${generation}, expected ${expected}`);
            return delivered;
          }
          // Copied before anything reads it: the peer may rewrite its payload at any time. Its
          // words, in a loop of plain loads: TypedArray#set of the area would be a builtin call
          // into V8's relaxed copy of all of it, Buffer#copy of `length` bytes a view per call.
          const copied = inPayload ? length : extra;
          if (copied > 0) {
            const from = index * (this.#payloadBytes >>> 2);
            const words = (copied + 3) >>> 2;
            const source = this.#payloadWords;
            const target = this.#scratchWords;
            for (let w = 0; w < words; w++) target[w] = source[from + w] ?? 0;
          }
          this.#counter = (counter + 1) >>> 0;
          delivered++;
          const visited = this.#visited;
          visited.slot = slot;
          visited.length = length;
          visited.seq = seqHi * TWO_POW_32 + seqLo;
          visited.generation = generation;
          visited.kind = kind;
          visited.width = width;
          visited.height = height;
          visited.formatCode = formatCode;
          visited.timestamp = timestamp;
          visited.aux = aux;
          visited.extra = extra;
          visit(visited, this.#scratch);
        }
        // Batch done: hand the entries back before looking for more, so a producer that
        // was full can refill while this call continues.
        this.#returnEntries();
      }
    } finally {
      this.#draining = false;
      this.#returnEntries();
    }
    return delivered;
  }

  /**
   * Consumer: stores the head, when it moved. A store the producer did not need still costs
   * it a cache miss on its next read of the word, and a guest drains once per input it runs,
   * most often finding nothing new.
   */
  #returnEntries(): void {
    const counter = this.#counter;
    if (this.#returned === counter) return;
    this.#returned = counter;
    Atomics.store(this.#own, 0, counter);
  }

  /**
   * Producer: entries in flight as the consumer's counter last read showed them, read again
   * only when that shows no room. The consumer only ever frees entries, so the last value is
   * a safe lower bound of the room, and a push that finds room in it costs no load of a word
   * the consumer keeps writing — a cache line fetched from the other core, ~1 per input
   * before (the consumer returns entries after each batch it reads). A counter the consumer
   * corrupted is found the first time it is needed, and until then nothing depends on it.
   */
  #usedForPush(): number {
    if (this.#violation !== undefined) return -1;
    const used = (this.#counter - this.#peerSeen) >>> 0;
    return used < this.capacity ? used : this.#used();
  }

  /**
   * Descriptors in flight as seen from this end, or -1 when the ring is (now) violated. The
   * peer's counter is loaded once and must lie between its last validated value and the
   * furthest it may legally be: a consumer's head never passes the tail, a producer's tail
   * never gets more than `capacity` ahead of the head, and neither moves backwards.
   */
  #used(): number {
    if (this.#violation !== undefined) return -1;
    const peer = Atomics.load(this.#peer, 0);
    const own = this.#counter;
    const consumer = this.role === 'consumer';
    const used = (consumer ? peer - own : own - peer) >>> 0;
    const usedBefore = (consumer ? this.#peerSeen - own : own - this.#peerSeen) >>> 0;
    // A consumer sees more in flight as the producer advances; a producer sees less as the
    // consumer advances. Any other movement is a peer writing its counter at will.
    const backwards = consumer ? used < usedBefore : used > usedBefore;
    if (used > this.capacity || backwards) {
      this.#fail(
        'ring_index',
        `the ${consumer ? "producer's tail" : "consumer's head"} is ${peer} (last seen ${this.#peerSeen}) against ${own}, capacity ${this.capacity}`,
      );
      return -1;
    }
    this.#peerSeen = peer;
    return used;
  }

  #fail(violation: RingViolationKind, detail: string): void {
    if (this.#violation !== undefined) return;
    const report: RingViolation = Object.freeze({ ok: false, violation, detail });
    this.#violation = report;
    this.#onViolation?.(report);
  }

  #checkOutgoing(desc: Descriptor): void {
    if (!isU32(desc.kind) || desc.kind >= this.#kindLimit) bad('kind', desc.kind, `is not a u32 below ${this.#kindLimit}`);
    if (this.#inPayload !== undefined && this.#inPayload(desc.kind)) {
      if (desc.slot !== 0) bad('slot', desc.slot, 'must be 0 for a payload kind');
      if (!Number.isInteger(desc.length) || desc.length < 0 || desc.length > this.#payloadBytes) {
        bad('length', desc.length, `is not in [0, ${this.#payloadBytes}] for a payload kind`);
      }
    } else if (this.#isSlotless !== undefined && this.#isSlotless(desc.kind)) {
      if (desc.slot !== 0 || desc.length !== 0) bad('slot', desc.slot, 'must be 0 with length 0 for a slotless kind');
    } else {
      if (!Number.isInteger(desc.slot) || desc.slot < 0 || desc.slot >= this.#slots) bad('slot', desc.slot, `is not in [0, ${this.#slots})`);
      if (!Number.isInteger(desc.length) || desc.length < 0 || desc.length > this.#slotBytes) {
        bad('length', desc.length, `is not in [0, ${this.#slotBytes}]`);
      }
    }
    if (!Number.isSafeInteger(desc.seq) || desc.seq < 0) bad('seq', desc.seq, 'is not a non-negative safe integer');
    if (!isU32(desc.generation)) bad('generation', desc.generation, 'is not a u32');
    if (!isU32(desc.width)) bad('width', desc.width, 'is not a u32');
    if (!isU32(desc.height)) bad('height', desc.height, 'is not a u32');
    if (!isU32(desc.formatCode)) bad('formatCode', desc.formatCode, 'is not a u32');
    if (!isU32(desc.aux)) bad('aux', desc.aux, 'is not a u32');
    if (desc.extra !== 0) {
      const inPayload = this.#inPayload !== undefined && this.#inPayload(desc.kind);
      if (inPayload || this.#withExtra === undefined || !this.#withExtra(desc.kind)) bad('extra', desc.extra, 'must be 0 for this kind');
      if (!Number.isInteger(desc.extra) || desc.extra < 0 || desc.extra > this.#payloadBytes) bad('extra', desc.extra, `is not in [0, ${this.#payloadBytes}]`);
    }
    if (typeof desc.timestamp !== 'number') bad('timestamp', desc.timestamp, 'is not a number');
  }
}

function bad(field: string, value: number, rule: string): never {
  throw new RangeError(`DescriptorRing.stage: ${field} ${String(value)} ${rule}`);
}

function checkRingFits(sab: SharedArrayBuffer, ring: RingLayout): void {
  const capacity = ring.capacity;
  if (!Number.isSafeInteger(capacity) || capacity < 1 || (capacity & (capacity - 1)) !== 0) {
    throw new RangeError(`DescriptorRing: capacity must be a power of two, got ${capacity}`);
  }
  const end = Math.max(ring.descriptorsOffset + capacity * DESCRIPTOR_BYTES, ring.payloadOffset + capacity * ring.payloadBytes);
  if (!Number.isSafeInteger(ring.payloadBytes) || ring.payloadBytes < 0 || ring.payloadBytes % 4 !== 0) {
    throw new RangeError(`DescriptorRing: payloadBytes must be a non-negative multiple of 4, got ${ring.payloadBytes}`);
  }
  for (const offset of [ring.headOffset, ring.tailOffset, ring.descriptorsOffset, ring.payloadOffset]) {
    if (!Number.isSafeInteger(offset) || offset < 0 || offset % 8 !== 0) {
      throw new RangeError(`DescriptorRing: ring offsets must be non-negative multiples of 8, got ${offset}`);
    }
  }
  if (end > sab.byteLength || ring.headOffset + 4 > sab.byteLength || ring.tailOffset + 4 > sab.byteLength) {
    throw new RangeError(`DescriptorRing: the ring ends at byte ${end}, the buffer has ${sab.byteLength}`);
  }
}
