import { mkdirSync, mkdtempSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Subject } from 'rxjs';
import { createRuntime, type RuntimeOptions } from '../actors/createRuntime.js';
import type { FrameInput } from '../actors/instanceTypes.js';
import type { FrameOptions } from '../actors/LoadOptions.js';
import type { PluginInstance } from '../actors/PluginInstance.js';
import { messageOf } from '../errors.js';
import type { DemoEvent } from './demo/DemoEvent.js';
import type { DemoSummary } from './demo/DemoSummary.js';
import type { BlobSettings } from './demo/findBlobs.js';
import { describeEvent, formatEvent, type DashboardHeader } from './demo/formatDashboard.js';
import { formatSummary } from './demo/formatSummary.js';
import { InstanceMonitor } from './demo/InstanceMonitor.js';
import { LiveDashboard } from './demo/LiveDashboard.js';
import { produceFrames } from './demo/produceFrames.js';
import type { ReportExporterConfig } from './demo/reportExporter.js';
import type { ReportSnapshot, ReportWritten } from './demo/ReportSnapshot.js';
import { SyntheticScene } from './demo/SyntheticScene.js';

export type { DemoSummary } from './demo/DemoSummary.js';

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Seconds of video. */
  readonly durationS: number;
  /** Frames per second, paced on the wall clock. */
  readonly fps: number;
  readonly width: number;
  readonly height: number;
  /** Where the report goes (created if missing). Default: a fresh directory under the OS temp dir. */
  readonly outDir?: string;
  /** Where the demo writes its output (raw text; lines end with `\n`). */
  readonly out: (text: string) => void;
  /** Whether `out` is a terminal: redraw the dashboard in place. Default false (plain lines). */
  readonly isTTY?: boolean;
  /** Terminal width, so the dashboard never wraps. */
  readonly columns?: number;
  /**
   * The frame whose header is corrupted for the isolated detector (by frame count, so the
   * crash is deterministic). Default: 40 % into the video. `null`: no crash.
   */
  readonly crashAtFrame?: number | null;
  /** Seconds between two report snapshots. Default 2. */
  readonly reportEveryS?: number;
  /** Aborting it (Ctrl-C) ends the video early; the demo still drains, reports and summarises. */
  readonly signal?: AbortSignal;
  /** Inspection observer handed to `createRuntime` (the Stately inspector). */
  readonly inspect?: RuntimeOptions['inspect'];
}

/** The one frame format of the demo: 8-bit gray (one byte per pixel). */
const FORMAT = 'gray';
const REPORT_FILE = 'report.html';
/** Bounds the final drains: the runtime settles every input, this only guards the demo. */
const DRAIN_TIMEOUT_MS = 15_000;

function prepareOutDir(outDir: string | undefined): string {
  if (outDir === undefined) return realpathSync(mkdtempSync(join(tmpdir(), 'seam-demo-')));
  const absolute = resolve(outDir);
  mkdirSync(absolute, { recursive: true });
  // The permission flag compares real paths: a symlinked temp dir must be resolved first.
  return realpathSync(absolute);
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => {
      resolve(undefined);
    }, ms);
  });
  return Promise.race([promise, timeout]).finally(() => {
    clearTimeout(timer);
  });
}

function mb(bytes: number): string {
  return (bytes / 1_000_000).toFixed(1);
}

/**
 * The main job of `seam demo`: a video-analysis pipeline behind one plugin contract.
 *
 * A synthetic camera draws 8-bit gray frames (moving bright shapes) at a steady rate into
 * zero-copy slots. The same `blob-detector` module runs twice — `embedded` (a worker thread)
 * and `isolated` (a child process) — and emits the shapes it finds in every frame. A
 * `report-export` plugin (`isolated`, allowed by Node's permission model to write in the
 * output directory only) turns a document snapshot into an HTML report every few seconds.
 *
 * Midway, one frame with a corrupt header goes to the isolated detector only: its header
 * parser throws where nothing catches it, its process dies, the runtime classifies the
 * failure (`lost`), backs off, starts generation 2, and frames flow again — while the
 * embedded twin keeps going without losing a frame. A live dashboard shows it all, and a
 * summary ends the run (also after Ctrl-C, through `signal`). It does not exit the process.
 *
 * @example
 * ```ts
 * const summary = await runDemo({ durationS: 5, fps: 30, width: 1920, height: 1080, out: (t) => process.stdout.write(t) });
 * console.log(summary.reportPath);
 * ```
 */
export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const { out, durationS, fps, width, height } = options;
  const isTTY = options.isTTY ?? false;
  const signal = options.signal ?? new AbortController().signal;
  const outDir = prepareOutDir(options.outDir);
  const scene = new SyntheticScene(width, height, fps);
  const framesPlanned = Math.max(1, Math.round(durationS * fps));
  const crashAt = options.crashAtFrame === null ? undefined : (options.crashAtFrame ?? Math.floor(framesPlanned * 0.4));
  const crashFrame = crashAt !== undefined && crashAt >= 0 && crashAt < framesPlanned ? crashAt : undefined;
  const reportEveryMs = Math.max(0.1, options.reportEveryS ?? 2) * 1_000;

  const runtime = createRuntime(options.inspect === undefined ? {} : { inspect: options.inspect });
  const events: DemoEvent[] = [];
  // Every time of the demo counts from the first frame; events before it show t=0.
  let videoStartedAt = Number.POSITIVE_INFINITY;
  let dashboard: LiveDashboard | undefined;
  const onEvent = (event: DemoEvent): void => {
    events.push(event);
    if (dashboard === undefined) out(`${formatEvent(event)}\n`);
    else dashboard.event(event);
  };
  const monitorOptions = { startedAt: () => videoStartedAt, onEvent };

  // Slots: 4 waiting frames, the frames in the plugin's hands and the one being drawn. A
  // frame arriving while 4 wait drops the oldest: live video prefers fresh frames to a backlog.
  const frames: FrameOptions = { queue: 4, overflow: 'drop-oldest', slots: 12, maxFrameBytes: scene.frameBytes };
  const detectorConfig: BlobSettings = { threshold: 128, cell: Math.max(2, Math.round(height / 135)), minCells: 2, maxBlobs: 16 };
  const detectorModule = new URL('./demo/blobDetector.js', import.meta.url);
  const reporterConfig: ReportExporterConfig = { outDir, fileName: REPORT_FILE };
  const detectors: PluginInstance[] = [
    runtime.load({ id: 'detector-embedded', module: detectorModule, mode: 'embedded', config: detectorConfig, frames }),
    runtime.load({
      id: 'detector-isolated',
      module: detectorModule,
      mode: 'isolated',
      config: detectorConfig,
      frames,
      // Long enough to be seen on the dashboard (it refreshes every 250 ms).
      restart: { backoff: { initialMs: 400 } },
    }),
  ];
  const reporter = runtime.load({
    id: 'report-export',
    module: new URL('./demo/reportExporter.js', import.meta.url),
    mode: 'isolated',
    config: reporterConfig,
    // The seat belt: this plugin's process may write in the output directory and nowhere else.
    isolation: { permission: { allowFsWrite: [outDir] } },
  });
  const [embedded, isolated] = detectors;
  if (embedded === undefined || isolated === undefined) throw new Error('unreachable: two detectors were loaded');
  const monitors = detectors.map((d) => new InstanceMonitor(d, monitorOptions));
  const reporterMonitor = new InstanceMonitor(reporter, monitorOptions);

  let reportsWritten = 0;
  let reportsFailed = 0;
  let reportPath: string | undefined;
  let reportTimer: ReturnType<typeof setInterval> | undefined;
  let interrupted = false;
  let videoEndedAt: number | undefined;
  const videoMs = (): number => Math.max(0, (videoEndedAt ?? performance.now()) - videoStartedAt);

  try {
    out(
      `seam demo: ${width}x${height} ${FORMAT} frames (8-bit luma, ${mb(scene.frameBytes)} MB each) at ${fps} fps for ${durationS} s, ` +
        `drawn straight into zero-copy acquire() slots\n` +
        `  ${embedded.id}  blob-detector on a worker thread (embedded)\n` +
        `  ${isolated.id}  the same module in a child process (isolated)` +
        (crashFrame === undefined ? '\n' : `; frame ${crashFrame} (t=${(crashFrame / fps).toFixed(1)}s) carries a corrupt header, for it alone\n`) +
        `  ${reporter.id}      an HTML report every ${reportEveryMs / 1_000} s, from a child process (isolated) allowed to write only in ${outDir}\n`,
    );
    await Promise.all([...detectors, reporter].map((p) => p.start()));
    await Promise.all([...detectors, reporter].map((p) => p.run()));
    out(`frame transport: ${detectors.map((d) => `${d.id} ${d.status.transport}`).join(', ')}\n`);

    const elapsedS = (): number => videoMs() / 1_000;
    const header = (): DashboardHeader => ({ elapsedS: elapsedS(), durationS, width, height, format: FORMAT, fps, reportsWritten });
    const liveDashboard = new LiveDashboard({
      out,
      isTTY,
      columns: options.columns,
      read: () => {
        const now = performance.now();
        return { header: header(), rows: [...monitors, reporterMonitor].map((m) => m.row(now)) };
      },
    });

    const snapshot = (final: boolean): ReportSnapshot => {
      const now = performance.now();
      return {
        title: 'plugin-seam demo: blob detection',
        createdAt: new Date().toISOString(),
        final,
        elapsedS: elapsedS(),
        video: { width, height, format: FORMAT, fps },
        detectors: monitors.map((m) => m.report(now, videoMs())),
        events: events.filter((e) => e.kind !== 'log').slice(-50).map((e) => ({ atS: e.atS, text: describeEvent(e) })),
      };
    };
    let reportInFlight: Promise<void> | undefined;
    const sendReport = (final: boolean): Promise<void> => {
      const sent = reporter.send(snapshot(final)).then(
        (reply) => {
          reportsWritten += 1;
          reportPath = (reply as ReportWritten).path;
        },
        (error: unknown) => {
          reportsFailed += 1;
          onEvent({ kind: 'log', atS: elapsedS(), id: reporter.id, level: 'error', message: `report not written: ${messageOf(error)}` });
        },
      );
      reportInFlight = sent.finally(() => {
        reportInFlight = undefined;
      });
      return reportInFlight;
    };

    // The video starts now: every frame is due at a fixed offset from here.
    videoStartedAt = performance.now();
    dashboard = liveDashboard;
    liveDashboard.start();
    reportTimer = setInterval(() => {
      // One snapshot at a time: a slow exporter skips a beat instead of queueing documents.
      if (reportInFlight === undefined) void sendReport(false);
    }, reportEveryMs);

    const drained = detectors.map((detector, index) => {
      const monitor = monitors[index];
      if (monitor === undefined) throw new Error('unreachable: one monitor per detector');
      const frames$ = new Subject<FrameInput>();
      const settled = new Promise<void>((resolveSettled, rejectSettled) => {
        detector.connect(frames$).subscribe({
          next: (outcome) => {
            monitor.outcome(outcome, performance.now());
          },
          complete: resolveSettled,
          error: rejectSettled,
        });
      });
      const produced = produceFrames({
        instance: detector,
        scene,
        frames$,
        totalFrames: framesPlanned,
        startedAt: videoStartedAt,
        signal,
        // Only the isolated twin gets the poisoned frame.
        poisonFrame: detector === isolated ? crashFrame : undefined,
        onSubmit: (_frameIndex, atMs) => {
          monitor.submitted(atMs);
        },
        onSkip: (count) => {
          monitor.skipped(count);
        },
      });
      return { produced, settled };
    });
    await Promise.all(drained.map((d) => d.produced));
    videoEndedAt = performance.now();
    interrupted = signal.aborted;
    // Every frame handed in ends in exactly one outcome; wait for the last ones.
    await withTimeout(Promise.all(drained.map((d) => d.settled)), DRAIN_TIMEOUT_MS);

    clearInterval(reportTimer);
    reportTimer = undefined;
    if (reportInFlight !== undefined) await withTimeout(reportInFlight, DRAIN_TIMEOUT_MS);
    await withTimeout(sendReport(true), DRAIN_TIMEOUT_MS);
    liveDashboard.stop();
  } finally {
    if (reportTimer !== undefined) clearInterval(reportTimer);
    dashboard?.stop();
    await runtime.shutdown();
    for (const m of [...monitors, reporterMonitor]) m.dispose();
  }

  const summaries = monitors.map((m) => m.summary(videoMs()));
  const summary: DemoSummary = {
    width,
    height,
    format: FORMAT,
    fps,
    framesPlanned,
    crashFrame,
    videoS: videoMs() / 1_000,
    interrupted,
    detectors: summaries,
    reportsWritten,
    reportsFailed,
    reportPath,
    outDir,
    events,
  };
  out(formatSummary(summary, reporter.id));
  return summary;
}
