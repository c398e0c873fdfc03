import type { Subscription } from 'rxjs';
import type { FrameOutcome, PluginStatus } from '../../actors/instanceTypes.js';
import type { PluginInstance } from '../../actors/PluginInstance.js';
import type { Failure } from '../../machines/lifecycleTypes.js';
import type { FrameDetections } from './blobDetector.js';
import type { DemoEvent } from './DemoEvent.js';
import type { DashboardRow } from './formatDashboard.js';
import { LatencyWindow } from './LatencyWindow.js';
import type { ReportDetector, ReportFrame } from './ReportSnapshot.js';

/** What one instance did over the whole run. */
export interface InstanceSummary {
  readonly id: string;
  readonly mode: string;
  /** Frames handed to `connect()`. */
  readonly framesSubmitted: number;
  /** Frames the producer skipped because it fell behind (never submitted). */
  readonly framesSkipped: number;
  readonly done: number;
  readonly failed: number;
  readonly lost: number;
  readonly dropped: number;
  /** Done frames by the generation that handled them. */
  readonly doneByGeneration: Readonly<Record<number, number>>;
  /** Lifecycle failures, in order. */
  readonly failures: readonly Failure[];
  readonly restarts: number;
  /** The generation at the end. */
  readonly generation: number;
  /** Done frames per second over the run. */
  readonly fps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Blobs reported over the run. */
  readonly detections: number;
}

/** Options of {@link InstanceMonitor}. */
export interface InstanceMonitorOptions {
  /** `performance.now()` at the start of the video (event times count from it); +∞ before it starts. */
  readonly startedAt: () => number;
  readonly onEvent: (event: DemoEvent) => void;
  /** Latency and rate window of the dashboard. Default 2 s. */
  readonly windowMs?: number;
  /** Frames of detections kept for the report. Default 8. */
  readonly recentFrames?: number;
}

/**
 * Watches one plugin instance for the demo: per-frame latency (from submission to the
 * frame's `done` outcome), outcome counts by kind and generation, the detections it emits,
 * and its lifecycle, turned into events (failure, restart, recovered). It reads the
 * instance only through its public streams and `status`.
 *
 * @example
 * ```ts
 * const monitor = new InstanceMonitor(detector, { startedAt: () => videoStart, onEvent: print });
 * detector.connect(frames$).subscribe((outcome) => monitor.outcome(outcome, performance.now()));
 * monitor.submitted(performance.now()); // right before each frames$.next(slot)
 * ```
 */
export class InstanceMonitor {
  readonly instance: PluginInstance;
  readonly #options: InstanceMonitorOptions;
  readonly #window: LatencyWindow;
  readonly #subscriptions: Subscription[] = [];
  /** Submission time by frame seq (the runtime numbers inputs from 1 in submission order). */
  readonly #sentAt = new Map<number, number>();
  #nextSeq = 1;
  #takesFrames = false;
  #skipped = 0;
  #done = 0;
  #failed = 0;
  #lost = 0;
  #dropped = 0;
  readonly #doneByGeneration: Record<number, number> = {};
  readonly #failures: Failure[] = [];
  /** When the latest failure was seen, to time the recovery. */
  #failedAt: number | undefined;
  #lastUpGeneration = 0;
  #recoveredGeneration = 0;
  #detections = 0;
  readonly #recent: ReportFrame[] = [];
  #status: PluginStatus;

  constructor(instance: PluginInstance, options: InstanceMonitorOptions) {
    this.instance = instance;
    this.#options = options;
    this.#window = new LatencyWindow(options.windowMs ?? 2_000);
    this.#status = instance.status;
    this.#subscriptions.push(
      instance.status$.subscribe((status) => {
        this.#onStatus(status);
      }),
      instance.outputs$.subscribe((output) => {
        if (output.channel !== 'detections') return;
        const value = output.value as FrameDetections;
        this.#detections += value.blobs.length;
        this.#recent.push({ frame: value.frame, generation: output.generation, blobs: value.blobs });
        if (this.#recent.length > (options.recentFrames ?? 8)) this.#recent.shift();
      }),
      instance.logs$.subscribe((log) => {
        options.onEvent({ kind: 'log', atS: this.#atS(performance.now()), id: instance.id, level: log.level, message: log.message });
      }),
    );
  }

  /** Call right before handing a frame to `connect()`. */
  submitted(atMs: number): void {
    this.#takesFrames = true;
    this.#sentAt.set(this.#nextSeq++, atMs);
  }

  /** Call when the producer skipped `count` frames (it fell behind the wall clock). */
  skipped(count: number): void {
    this.#skipped += count;
  }

  /** Call with every outcome of `connect()`. */
  outcome(outcome: FrameOutcome, atMs: number): void {
    const sentAt = this.#sentAt.get(outcome.seq);
    this.#sentAt.delete(outcome.seq);
    switch (outcome.kind) {
      case 'done':
        this.#done += 1;
        this.#doneByGeneration[outcome.generation] = (this.#doneByGeneration[outcome.generation] ?? 0) + 1;
        if (sentAt !== undefined) this.#window.add(atMs, atMs - sentAt);
        this.#checkRecovered(outcome.generation, atMs);
        return;
      case 'failed':
        this.#failed += 1;
        return;
      case 'lost':
        this.#lost += 1;
        return;
      case 'dropped':
        this.#dropped += 1;
        return;
    }
  }

  /** The dashboard row, now. */
  row(nowMs: number): DashboardRow {
    const status = this.#status;
    const stats = this.#window.stats(nowMs);
    const counters = this.instance.status.counters;
    return {
      id: this.instance.id,
      mode: this.instance.mode,
      state: status.state,
      generation: status.generation,
      fps: this.#takesFrames ? stats.rate : undefined,
      p50Ms: this.#takesFrames && stats.count > 0 ? stats.p50Ms : undefined,
      p99Ms: this.#takesFrames && stats.count > 0 ? stats.p99Ms : undefined,
      done: this.#takesFrames ? this.#done : counters.done,
      lost: this.#takesFrames ? this.#lost : counters.lost,
      dropped: this.#takesFrames ? this.#dropped + this.#skipped : counters.dropped,
      restarts: status.restarts,
      lastFailure: status.lastFailure,
      restartInMs: status.restart?.scheduled === true ? status.restart.delayMs : undefined,
    };
  }

  /** What the report shows of this instance, now. */
  report(nowMs: number, elapsedMs: number): ReportDetector {
    const row = this.row(nowMs);
    const overall = this.#window.overall(elapsedMs);
    return {
      id: row.id,
      mode: row.mode,
      state: row.state,
      generation: row.generation,
      restarts: row.restarts,
      framesDone: this.#done,
      framesLost: this.#lost,
      framesDropped: this.#dropped + this.#skipped,
      detections: this.#detections,
      p50Ms: overall.p50Ms,
      p99Ms: overall.p99Ms,
      failures: this.#failures.map((f) => ({
        generation: f.generation,
        class: f.class,
        cause: f.cause,
        ...(f.detail === undefined ? {} : { detail: f.detail }),
      })),
      recent: [...this.#recent],
    };
  }

  /** The run's totals. */
  summary(elapsedMs: number): InstanceSummary {
    const overall = this.#window.overall(elapsedMs);
    return {
      id: this.instance.id,
      mode: this.instance.mode,
      framesSubmitted: this.#nextSeq - 1,
      framesSkipped: this.#skipped,
      done: this.#done,
      failed: this.#failed,
      lost: this.#lost,
      dropped: this.#dropped,
      doneByGeneration: { ...this.#doneByGeneration },
      failures: [...this.#failures],
      restarts: this.#status.restarts,
      generation: this.#status.generation,
      fps: overall.rate,
      p50Ms: overall.p50Ms,
      p99Ms: overall.p99Ms,
      detections: this.#detections,
    };
  }

  /** Stops watching (the streams also complete at runtime shutdown). */
  dispose(): void {
    for (const s of this.#subscriptions.splice(0)) s.unsubscribe();
  }

  #atS(atMs: number): number {
    return Math.max(0, (atMs - this.#options.startedAt()) / 1_000);
  }

  #onStatus(status: PluginStatus): void {
    this.#status = status;
    const now = performance.now();
    const failure = status.failure;
    if (status.state === 'failed' && failure !== undefined && !this.#failures.some((f) => f.generation === failure.generation && f.class === failure.class)) {
      this.#failures.push(failure);
      this.#failedAt = now;
      this.#options.onEvent({
        kind: 'failure',
        atS: this.#atS(now),
        id: this.instance.id,
        failure,
        restartInMs: status.restart?.scheduled === true ? status.restart.delayMs : undefined,
        exhausted: status.restart?.exhausted ?? false,
      });
    }
    if ((status.state === 'started' || status.state === 'running') && status.generation > this.#lastUpGeneration) {
      const first = this.#lastUpGeneration === 0;
      this.#lastUpGeneration = status.generation;
      if (!first) {
        this.#options.onEvent({ kind: 'restart', atS: this.#atS(now), id: this.instance.id, generation: status.generation, restarts: status.restarts });
      }
    }
  }

  #checkRecovered(generation: number, atMs: number): void {
    const last = this.#failures.at(-1);
    if (last === undefined || generation <= last.generation || generation <= this.#recoveredGeneration) return;
    this.#recoveredGeneration = generation;
    this.#options.onEvent({
      kind: 'recovered',
      atS: this.#atS(atMs),
      id: this.instance.id,
      generation,
      afterMs: atMs - (this.#failedAt ?? atMs),
      lost: this.#lost,
    });
  }
}
