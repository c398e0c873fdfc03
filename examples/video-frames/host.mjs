// Pushes synthetic video through an embedded (worker thread) plugin, zero-copy.
//
//   node examples/video-frames/host.mjs
//
// Each frame is written straight into a shared-memory slot from `acquire()`, then handed
// to `connect()`: no copy on the way to the worker. `acquire()` waits while every slot is
// in use, so the producer is paced by the plugin and memory stays bounded.
import { from } from 'rxjs';
import { createRuntime } from 'plugin-seam';

const WIDTH = 640;
const HEIGHT = 480;
const BYTES = WIDTH * HEIGHT * 4; // RGBA
const FRAMES = 300;

const runtime = createRuntime();
const p = runtime.load({
  id: 'analyser',
  module: new URL('./analyser.mjs', import.meta.url),
  mode: 'embedded',
  config: { reportEvery: 100 },
  // Six slots of exactly one frame each: a small, fixed amount of shared memory.
  frames: { queue: 4, slots: 6, maxFrameBytes: BYTES },
});
p.outputs$.subscribe((out) => console.log(`[output] frame ${out.value.seq}: mean brightness ${out.value.mean}`));

await p.start();
await p.run();
console.log(`mode: ${p.mode}, transport: ${p.status.transport}, ${FRAMES} frames of ${WIDTH}x${HEIGHT} rgba`);

/** Produces frames into pooled slots: a dark picture with a bright band sweeping across. */
async function* produceFrames() {
  for (let i = 0; i < FRAMES; i++) {
    const slot = await p.acquire(BYTES); // waits while all slots are in use
    const band = (i * 8) % WIDTH;
    for (let y = 0; y < HEIGHT; y++) {
      const row = y * WIDTH * 4;
      slot.data.fill(40, row, row + WIDTH * 4);
      slot.data.fill(230, row + band * 4, row + Math.min(WIDTH, band + 64) * 4);
    }
    slot.width = WIDTH;
    slot.height = HEIGHT;
    slot.format = 'rgba';
    slot.timestamp = performance.now();
    // Once yielded, the slot belongs to the runtime: do not write to it again.
    yield slot;
  }
}

// One outcome per frame; the stream completes once every frame has its outcome.
const outcomes = { done: 0, failed: 0, dropped: 0, lost: 0 };
const started = performance.now();
await new Promise((resolve, reject) => {
  p.connect(from(produceFrames())).subscribe({
    next: (outcome) => (outcomes[outcome.kind] += 1),
    error: reject,
    complete: resolve,
  });
});
const seconds = (performance.now() - started) / 1000;
console.log(`outcomes: done=${outcomes.done} failed=${outcomes.failed} dropped=${outcomes.dropped} lost=${outcomes.lost}`);
console.log(`throughput: ${Math.round(FRAMES / seconds)} fps`);

// Ask the plugin what it kept: the copy is intact, the kept FrameView has expired.
const lifetime = await p.send({ op: 'lifetime' });
console.log(`kept copy of the last frame's first bytes: [${lifetime.copy.join(', ')}]`);
console.log(`kept FrameView after onFrame settled: ${lifetime.viewAfterSettle}`);

await runtime.shutdown();
