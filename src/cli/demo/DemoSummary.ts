import type { DemoEvent } from './DemoEvent.js';
import type { InstanceSummary } from './InstanceMonitor.js';

/** What the demo observed, for its summary and for tests. */
export interface DemoSummary {
  readonly width: number;
  readonly height: number;
  /** Pixel format of the frames (`gray`: 8 bits per pixel). */
  readonly format: string;
  readonly fps: number;
  /** Frames the video was meant to have. */
  readonly framesPlanned: number;
  /** The frame that crashed the isolated detector, or `undefined` when none was planned. */
  readonly crashFrame: number | undefined;
  /** Seconds of video actually played. */
  readonly videoS: number;
  /** Ended early by the abort signal (Ctrl-C). */
  readonly interrupted: boolean;
  /** The two detectors: embedded first, then isolated. */
  readonly detectors: readonly InstanceSummary[];
  readonly reportsWritten: number;
  readonly reportsFailed: number;
  /** The HTML report, once one was written. */
  readonly reportPath: string | undefined;
  readonly outDir: string;
  /** Lifecycle events and plugin log lines, in order. */
  readonly events: readonly DemoEvent[];
}
