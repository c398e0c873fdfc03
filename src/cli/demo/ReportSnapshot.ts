import type { Blob } from './findBlobs.js';

/** A lifecycle failure as the report shows it. */
export interface ReportFailure {
  readonly generation: number;
  readonly class: string;
  readonly cause: string;
  readonly detail?: string;
}

/** The detections of one frame, as one detector saw them. */
export interface ReportFrame {
  readonly frame: number;
  readonly generation: number;
  readonly blobs: readonly Blob[];
}

/** What one detector instance did so far. */
export interface ReportDetector {
  readonly id: string;
  readonly mode: string;
  readonly state: string;
  readonly generation: number;
  readonly restarts: number;
  readonly framesDone: number;
  readonly framesLost: number;
  readonly framesDropped: number;
  /** Blobs reported over the whole run. */
  readonly detections: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly failures: readonly ReportFailure[];
  /** The most recent frames with their detections, oldest first. */
  readonly recent: readonly ReportFrame[];
}

/**
 * The document snapshot the demo sends to the report-export plugin every few seconds: a
 * plain structured-cloneable value (it crosses into the plugin's process).
 */
export interface ReportSnapshot {
  readonly title: string;
  /** ISO time the snapshot was taken. */
  readonly createdAt: string;
  /** The last snapshot of the run (the report stops refreshing itself). */
  readonly final: boolean;
  readonly elapsedS: number;
  readonly video: { readonly width: number; readonly height: number; readonly format: string; readonly fps: number };
  readonly detectors: readonly ReportDetector[];
  readonly events: readonly { readonly atS: number; readonly text: string }[];
}

/** The report-export plugin's answer to a snapshot. */
export interface ReportWritten {
  /** Absolute path of the HTML file. */
  readonly path: string;
  readonly bytes: number;
}
