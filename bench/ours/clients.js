// @ts-check
/**
 * Our runtime wrapped in the peers' client shapes, so the same drivers time both:
 *   - a PeerClient `{ call(seq), close() }` for one small frame through connect() (submit ->
 *     outcome) or one message through send() (-> reply);
 *   - frame cases `{ make(i) }` for the fixed-count frame driver: zero copy (acquire a slot,
 *     write one byte, connect) or one copy (the application's own buffer).
 */
import { URL } from 'node:url';
import { PAYLOAD, makeFrame } from '../peers/clients.js';
import { ConnectFeeder } from './feeder.js';

/** The bench plugin: reads every 4096th byte of a frame, echoes messages. */
export const NOOP_PLUGIN = new URL('../plugins/noop.js', import.meta.url);

/** Frame shapes, gray for the small input and RGBA for the hand-off sizes. */
export const SHAPES = /** @type {const} */ ({
  small: { width: 8, height: 8, format: 'gray', bytes: 64 },
  '1KB': { width: 16, height: 16, format: 'rgba', bytes: 1024 },
  '1080p': { width: 1920, height: 1080, format: 'rgba', bytes: 1920 * 1080 * 4 },
  '4K': { width: 3840, height: 2160, format: 'rgba', bytes: 3840 * 2160 * 4 },
});
/** @typedef {{ width: number, height: number, format: string, bytes: number }} Shape */

/** In flight for the pipelined runs (and the ring capacity of embedded and isolated mode). */
export const PIPELINE_DEPTH = 64;
/**
 * Slots of the large-frame instance: as many as frames kept in flight (4), as the SAB peer's
 * ring has. Every slot a run cycles through is memory the plugin's reads walk: a reader
 * touching each page of a 4K frame took ~210 µs per frame over 4 slots and ~290 µs over 6
 * (one thread, every 4096th byte; the TLB and caches hold less of 6 × 8,100 pages), so 6
 * slots against the peer's 4 measured the footprint, not the hand-off. A slot is released
 * before its frame's outcome is delivered, so the next `acquire()` finds one free.
 */
export const LARGE_SLOTS = 4;

/**
 * @typedef {import('plugin-seam').PluginInstance} PluginInstance
 * @typedef {import('plugin-seam').Runtime} Runtime
 * @typedef {import('../peers/clients.js').PeerClient} PeerClient
 * @typedef {'inline' | 'embedded' | 'isolated'} Mode
 */

/**
 * Loads, starts and runs one instance of the bench plugin.
 * @param {Runtime} runtime
 * @param {string} id
 * @param {Mode} mode
 * @param {{ queue: number, slots: number, maxFrameBytes: number }} frames
 * @param {Partial<import('plugin-seam').LoadOptions>} [extra] more load options (e.g. `isolation` to profile a child)
 */
export async function openInstance(runtime, id, mode, frames, extra = {}) {
  const p = runtime.load({ ...extra, id, module: NOOP_PLUGIN, mode, frames: { ...frames, overflow: 'block' } });
  await p.start();
  await p.run();
  return p;
}

/**
 * The small-input instance: every pipelined frame finds a shared slot (slots > in flight),
 * so none falls back to the copy-by-port path.
 * @param {Runtime} runtime
 * @param {Mode} mode
 * @param {Partial<import('plugin-seam').LoadOptions>} [extra]
 */
export function openSmall(runtime, mode, extra) {
  return openInstance(runtime, `${mode}-small`, mode, { queue: PIPELINE_DEPTH, slots: PIPELINE_DEPTH + 8, maxFrameBytes: SHAPES['1KB'].bytes }, extra);
}

/**
 * The large-frame instance (1080p and 4K RGBA), slots sized for 4K, each slot filled with
 * frame content once (outside any timing), as the SAB peer fills its ring's slots: a page no
 * one wrote reads as the kernel's shared zero page (in a SharedArrayBuffer; a memfd's holes
 * get real pages), always in cache, which made an embedded or inline zero-copy frame look ~5×
 * cheaper to read than any frame an application wrote (4K: ~50 against ~250 µs per frame for
 * the bench plugin's reads).
 * @param {Runtime} runtime
 * @param {Mode} mode
 * @param {Partial<import('plugin-seam').LoadOptions>} [extra]
 */
export async function openLarge(runtime, mode, extra) {
  const p = await openInstance(runtime, `${mode}-large`, mode, { queue: 4, slots: LARGE_SLOTS, maxFrameBytes: SHAPES['4K'].bytes }, extra);
  const content = makeFrame(SHAPES['4K'].bytes);
  const slots = [];
  for (let i = 0; i < LARGE_SLOTS; i++) slots.push(await p.acquire(content.byteLength));
  for (const slot of slots) {
    slot.data.set(content);
    slot.release();
  }
  return p;
}

/**
 * One small frame (64 B gray, the application's own buffer: a 64-byte copy) per call,
 * resolved by its `done` outcome.
 * @param {PluginInstance} p
 * @param {ConnectFeeder} feeder
 * @returns {PeerClient}
 */
export function frameClient(p, feeder) {
  const { width, height, format, bytes } = SHAPES.small;
  const data = makeFrame(bytes);
  return {
    name: `${p.mode} frame`,
    maxInFlight: PIPELINE_DEPTH,
    call(seq) {
      data[0] = seq & 255;
      return feeder.submit({ width, height, format, timestamp: seq, data });
    },
    close: async () => undefined,
  };
}

/**
 * One message (the peers' 64-character string) per call, resolved by the echoed reply.
 * @param {PluginInstance} p
 * @returns {PeerClient}
 */
export function messageClient(p) {
  return {
    name: `${p.mode} message`,
    maxInFlight: PIPELINE_DEPTH,
    call: () => p.send(PAYLOAD),
    close: async () => undefined,
  };
}

/**
 * The i-th frame of a hand-off run.
 * zero-copy: `await p.acquire(bytes)`, write one byte, hand the slot over.
 * one-copy:  the application's own buffer (the runtime copies it once into a slot).
 * @param {PluginInstance} p
 * @param {Shape} shape
 * @param {'zero-copy' | 'one-copy'} variant
 * @returns {(i: number) => import('plugin-seam').FrameInput | Promise<import('plugin-seam').FrameInput>}
 */
export function frameMaker(p, shape, variant) {
  const { width, height, format, bytes } = shape;
  if (variant === 'zero-copy') {
    return async (i) => {
      const slot = await p.acquire(bytes);
      slot.data[0] = i & 255;
      slot.width = width;
      slot.height = height;
      slot.format = format;
      slot.timestamp = i;
      return slot;
    };
  }
  const data = makeFrame(bytes);
  return (i) => {
    data[0] = i & 255;
    return { width, height, format, timestamp: i, data };
  };
}

export { ConnectFeeder };
