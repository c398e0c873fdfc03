/**
 * The worker-thread entry of embedded mode (a build output of its own: Node cannot start a
 * worker from a .ts file). It validates the launch, then serves the control plane with
 * Comlink and the data plane with the guest session. It does not catch the plugin's
 * uncaught errors: they end the worker, which is how the host learns of them.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { BLOCKING_PARK_MS, GuestSession } from '../guest/GuestSession.js';
import type { GuestChannel } from '../guest/GuestSession.js';
import { CONTROL_HEARTBEAT, CONTROL_RECEIVED, EMBEDDED_OUTPUT_WINDOW, EMBEDDED_OUTPUT_WINDOW_BYTES, PROTOCOL_VERSION } from '../protocol.js';
import { FifoQueue } from '../../transport/FifoQueue.js';
import { approxCloneBytes } from './approxCloneBytes.js';
import type { EmbeddedGuestControl, EmbeddedLaunch, GuestToHost, HostToGuest } from '../protocol.js';
import { MessageBatcher } from '../../transport/MessageBatcher.js';
import { isImmutablePrimitive } from '../copyValue.js';
import { detachSharedViews } from '../guest/detachSharedViews.js';
import { futexBlockingWait } from '../../transport/futexDoorbell.js';
import { loadShmBinding } from '../../transport/shmBinding.js';

/** The host wakes from `Atomics.waitAsync` in ~10 µs: its next input is usually here within 40. */
const SPIN_MICROS = 40;

const launch = workerData as EmbeddedLaunch;
const port = parentPort;
if (port === null || launch.version !== PROTOCOL_VERSION) {
  throw new Error(`plugin-seam embedded guest: protocol version ${String(launch.version)} is not ${PROTOCOL_VERSION}`);
}

/**
 * How the session may block: on the addon's futex when the host wakes blocking waits with a
 * futex wake (`launch.futexDoorbell`), else in `Atomics.wait`. Told to use a futex but unable
 * to load the addon here, it never blocks: `Atomics.wait` would not hear the host's wake.
 */
function blockingPark(): Pick<GuestChannel, 'blockingParkMs' | 'spinMicros' | 'blockingWait'> {
  const park = { blockingParkMs: BLOCKING_PARK_MS, spinMicros: SPIN_MICROS };
  if (!launch.futexDoorbell) return park;
  // Process-private, as the host's wake (a thread of the same process).
  const blockingWait = futexBlockingWait(loadShmBinding(), 'process');
  return blockingWait === undefined ? {} : { ...park, blockingWait };
}

// Outcomes leave in one post per turn; outputs and logs leave at once (after what is
// queued), so what a plugin emitted reaches the host even if it then hangs or exits. Either
// way the clone is synchronous: a value that cannot cross fails where it was posted.
const outbox = new MessageBatcher<GuestToHost>((messages) => {
  port.postMessage(messages);
});

/**
 * A plugin may emit or return `frame.data` itself: a view over the frame slots, which
 * cloning would hand over as such (the application would see every slot, live). A copy.
 */
function unshared(message: GuestToHost, slots: SharedArrayBuffer): GuestToHost {
  if (message.t === 'output' || (message.t === 'outcome' && message.ok)) {
    const value = detachSharedViews(message.value, slots);
    if (value !== message.value) return { ...message, value };
  } else if (message.t === 'outcome') {
    // A thrown Error may hold the frame too (`new Error('bad frame', { cause: frame.data })`).
    const error = detachSharedViews(message.error, slots);
    if (error !== message.error) return { ...message, error };
  }
  return message;
}

/**
 * The ArrayBuffers a snapshot holds (never shared memory, which cannot be transferred), found
 * within `maxNodes` values: what a heavy output hands to `postMessage` to transfer.
 */
function ownBuffers(value: unknown, maxNodes = 4_096): ArrayBuffer[] {
  const found = new Set<ArrayBuffer>();
  const seen = new Set<object>();
  const stack: unknown[] = [value];
  for (let nodes = 0; stack.length > 0 && nodes < maxNodes; nodes++) {
    const next = stack.pop();
    if (typeof next !== 'object' || next === null || seen.has(next)) continue;
    seen.add(next);
    if (next instanceof ArrayBuffer) found.add(next);
    else if (ArrayBuffer.isView(next)) {
      if (next.buffer instanceof ArrayBuffer) found.add(next.buffer);
    } else if (next instanceof Map) for (const [key, entry] of next) stack.push(key, entry);
    else if (next instanceof Set) for (const entry of next) stack.push(entry);
    else for (const key of Object.keys(next)) stack.push((next as Record<string, unknown>)[key]);
  }
  return [...found];
}

/** The control words: CONTROL_RECEIVED is the host's credit for what this side posts. */
const control = new Int32Array(launch.control.buffer, launch.control.byteOffset, CONTROL_RECEIVED + 1);
/** How long one wait for credit lasts before this side beats and looks again, in ms. */
const CREDIT_WAIT_MS = 10;

/**
 * Holds an output or log back while EMBEDDED_OUTPUT_WINDOW messages wait on the host: the
 * plugin's `emit` then runs at the pace the application takes outputs, as it does inline.
 * The wait is not a hang: the heartbeat goes on. It ends with credit only — the host applies
 * messages until the generation ends, a stop included, and then ends this thread. Counts
 * compare as int32 (the host's word wraps at 2^31 messages).
 */
function awaitCredit(bytes: number): void {
  for (;;) {
    const received = Atomics.load(control, CONTROL_RECEIVED);
    releaseHeavy(received);
    if (((session.posted - received) | 0) < EMBEDDED_OUTPUT_WINDOW && (heavyBytes === 0 || heavyBytes + bytes <= EMBEDDED_OUTPUT_WINDOW_BYTES)) return;
    Atomics.add(control, CONTROL_HEARTBEAT, 1);
    Atomics.wait(control, CONTROL_RECEIVED, received, CREDIT_WAIT_MS);
  }
}

/**
 * Outputs and logs of HEAVY_BYTES or more posted and not yet applied by the host, oldest
 * first: their number (the count `session.posted` reached with them) and approximate bytes
 * (see EMBEDDED_OUTPUT_WINDOW_BYTES). Lighter ones are left out: the message window bounds them.
 */
const heavy = new FifoQueue<{ readonly index: number; readonly bytes: number }>();
let heavyBytes = 0;
const HEAVY_BYTES = 64 * 1024;

function releaseHeavy(received: number): void {
  for (let oldest = heavy.peek(); oldest !== undefined && ((received - oldest.index) | 0) >= 0; oldest = heavy.peek()) {
    heavy.shift();
    heavyBytes -= oldest.bytes;
  }
}

/**
 * The plugin's value read once, as inline's clone reads it: every later step (the frame-view
 * copy, the size estimate, the post) reads this snapshot. Each of them read the plugin's own
 * value, and a getter ran 3–4 times (the application saw its last answer, not its first).
 * Cloned in this thread: a value V8 cannot read back (an Error whose cause is itself) fails
 * here, in `emit` or as its input's failure, as inline, not on the host's side, where it costs
 * the generation (see EmbeddedAdapter's messageerror). The frame slots are cloned with it, as
 * the snapshot's `slots`: a clone makes a new SharedArrayBuffer object over shared memory, the
 * same one for every reference to the same buffer, so the snapshot's views of the slots are
 * views of exactly that object, and any other buffer (of whatever size) is not.
 */
function snapshot(sent: GuestToHost): { readonly message: GuestToHost; readonly slots: SharedArrayBuffer } {
  const slots = launch.frames.buffer;
  if (sent.t === 'output' && typeof sent.value === 'object' && sent.value !== null) {
    const [clonedSlots, value] = structuredClone([slots, sent.value]);
    return { message: { ...sent, value }, slots: clonedSlots };
  }
  if (sent.t === 'outcome' && !(sent.ok && isImmutablePrimitive(sent.value))) {
    const [clonedSlots, message] = structuredClone([slots, sent] as const);
    return { message, slots: clonedSlots };
  }
  return { message: sent, slots };
}

const session = new GuestSession(launch, launch.layout, {
  post: (sent: GuestToHost) => {
    const read = snapshot(sent);
    const message = unshared(read.message, read.slots);
    if (message.t !== 'outcome') {
      outbox.flush();
      const bytes = message.t === 'output' ? approxCloneBytes(message.value) : message.t === 'log' ? message.message.length : 0;
      awaitCredit(bytes);
      // The snapshot's buffers are this side's own: a heavy one moves instead of being copied again.
      if (message.t === 'output' && bytes >= HEAVY_BYTES) port.postMessage(message, ownBuffers(message.value));
      else port.postMessage(message);
      if (bytes >= HEAVY_BYTES) {
        // Counted as the session will count it once this returns.
        heavy.push({ index: (session.posted + 1) | 0, bytes });
        heavyBytes += bytes;
      }
    } else {
      outbox.push(message);
    }
  },
  flush: () => {
    outbox.flush();
  },
  // The host rings after every port message and control call (see EmbeddedAdapter), so a
  // blocking wait hears of everything.
  ...blockingPark(),
  listen: (listener) => {
    port.on('message', (message: HostToGuest | HostToGuest[]) => {
      if (Array.isArray(message)) for (const one of message) listener(one);
      else listener(message);
    });
  },
});

/** `process.exit` as this thread found it: a plugin replacing it would turn a clean stop into a timeout. */
const exitThread = process.exit.bind(process);
const sessionControl = session.control();
Comlink.expose(
  {
    ...sessionControl,
    end: () => {
      // After what the plugin's stop left queued: an error there is the stop's failure.
      setImmediate(() => {
        exitThread(0);
      });
    },
  } satisfies EmbeddedGuestControl,
  nodeEndpoint(launch.controlPort),
);
