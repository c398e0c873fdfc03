import { Subject } from 'rxjs';
import { createRuntime } from '../actors/createRuntime.js';
import type { FrameInput } from '../actors/instanceTypes.js';

/** Options of the demo. */
export interface DemoOptions {
  readonly durationS: number;
  readonly fps: number;
  readonly width: number;
  readonly height: number;
  readonly write: (line: string) => void;
}

/** What the demo observed, for its summary line and for tests. */
export interface DemoSummary {
  readonly framesSent: number;
  readonly framesDone: number;
  readonly dropped: number;
  readonly reports: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))] ?? 0;
}

/**
 * The main job of `seam demo`: two inline plugins behind the same contract. A synthetic
 * gray video (a bright band sweeping across) goes to the `brightness` plugin at a steady
 * rate; every second a snapshot message goes to the `reporter` plugin, whose answer is
 * printed. Ends with a summary of the ledger.
 */
export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const { write } = options;
  const runtime = createRuntime();
  const detector = runtime.load({
    id: 'brightness',
    module: new URL('./demo/brightness.js', import.meta.url),
    mode: 'inline',
    config: { threshold: 4 },
    frames: { queue: 4, overflow: 'drop-oldest' },
  });
  const reporter = runtime.load({ id: 'reporter', module: new URL('./demo/reporter.js', import.meta.url), mode: 'inline' });
  for (const p of [detector, reporter]) {
    p.logs$.subscribe((l) => {
      write(`[${p.id}] ${l.level}: ${l.message}`);
    });
  }
  const sentAt = new Map<number, number>();
  const latencies: number[] = [];
  let means: number[] = [];
  detector.outputs$.subscribe((o) => {
    const value = o.value as { seq: number; mean: number };
    const t0 = sentAt.get(value.seq);
    if (t0 !== undefined) latencies.push(performance.now() - t0);
    sentAt.delete(value.seq);
    means.push(value.mean);
  });
  await Promise.all([detector.start(), reporter.start()]);
  await Promise.all([detector.run(), reporter.run()]);
  write(`running: ${detector.id} (${detector.mode}) and ${reporter.id} (${reporter.mode}) for ${options.durationS}s at ${options.fps} fps, ${options.width}x${options.height} gray`);

  const frames$ = new Subject<FrameInput>();
  let framesDone = 0;
  const finished = new Promise<void>((resolve, reject) => {
    detector.connect(frames$).subscribe({
      next: (outcome) => {
        if (outcome.kind === 'done') framesDone += 1;
      },
      complete: resolve,
      error: reject,
    });
  });
  const total = Math.round(options.durationS * options.fps);
  const image = new Uint8Array(options.width * options.height);
  let reports = 0;
  const replies: Promise<void>[] = [];
  const started = performance.now();
  for (let i = 0; i < total; i++) {
    // Pace on the wall clock: frame i is due at i / fps seconds.
    const due = started + (i * 1_000) / options.fps;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const band = Math.floor((i * 7) % options.width);
    for (let y = 0; y < options.height; y++) {
      const row = y * options.width;
      image.fill(30, row, row + options.width);
      image.fill(220, row + band, row + Math.min(options.width, band + 40));
    }
    // The detector receives only frames, so frame i gets seq i + 1.
    sentAt.set(i + 1, performance.now());
    frames$.next({ width: options.width, height: options.height, format: 'gray', timestamp: due, data: image });
    if ((i + 1) % options.fps === 0) {
      const meanBrightness = means.reduce((a, b) => a + b, 0) / Math.max(1, means.length);
      const snapshot = { second: (i + 1) / options.fps, frames: means.length, meanBrightness };
      means = [];
      replies.push(
        reporter.send(snapshot).then((line) => {
          reports += 1;
          write(`[reporter] ${typeof line === 'string' ? line : JSON.stringify(line)}`);
        }),
      );
    }
  }
  frames$.complete();
  await finished;
  await Promise.all(replies);
  const counters = detector.status.counters;
  await runtime.shutdown();
  const sorted = [...latencies].sort((a, b) => a - b);
  const summary: DemoSummary = {
    framesSent: total,
    framesDone,
    dropped: counters.dropped,
    reports,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
  };
  write(
    `summary: ${summary.framesDone}/${summary.framesSent} frames done, ${summary.dropped} dropped, ${summary.reports} reports, ` +
      `per-frame latency p50 ${summary.p50Ms.toFixed(3)} ms p99 ${summary.p99Ms.toFixed(3)} ms`,
  );
  return summary;
}
