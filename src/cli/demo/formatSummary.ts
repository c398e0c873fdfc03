import type { DemoSummary } from './DemoSummary.js';
import { formatFailure } from './formatDashboard.js';

/**
 * The closing lines of the demo: the run, one line per detector (frames by outcome, rate,
 * latency, generations, last failure), the report exporter, and where the report is.
 *
 * @example
 * ```ts
 * out(formatSummary(summary, 'report-export'));
 * // summary: 20.0 s of video, 600 frames planned, 1920x1080 gray at 30 fps
 * //   detector-embedded  embedded  frames 600 done, 0 lost, 0 dropped, 0 skipped  30.0 fps  latency p50 2.10 ms p99 6.02 ms  generation 1, 0 restarts  2870 detections
 * //   …
 * // report: /tmp/seam-demo-x1y2z3/report.html (plain HTML: open it in any browser)
 * ```
 */
export function formatSummary(summary: DemoSummary, reporterId: string): string {
  const lines = [
    `summary: ${summary.videoS.toFixed(1)} s of video${summary.interrupted ? ' (stopped early by Ctrl-C)' : ''}, ` +
      `${summary.framesPlanned} frames planned, ${summary.width}x${summary.height} ${summary.format} at ${summary.fps} fps`,
  ];
  const idWidth = Math.max(reporterId.length, ...summary.detectors.map((d) => d.id.length));
  for (const d of summary.detectors) {
    const failure = d.failures.at(-1);
    lines.push(
      `  ${d.id.padEnd(idWidth)}  ${d.mode.padEnd(8)}  frames ${d.done} done, ${d.lost} lost, ${d.dropped} dropped, ${d.framesSkipped} skipped` +
        `  ${d.fps.toFixed(1)} fps  latency p50 ${d.p50Ms.toFixed(2)} ms p99 ${d.p99Ms.toFixed(2)} ms` +
        `  generation ${d.generation}, ${d.restarts} restart${d.restarts === 1 ? '' : 's'}` +
        (failure === undefined ? '' : `, last failure ${formatFailure(failure)}`) +
        `  ${d.detections} detections`,
    );
  }
  lines.push(
    `  ${reporterId.padEnd(idWidth)}  isolated  ${summary.reportsWritten} report${summary.reportsWritten === 1 ? '' : 's'} written` +
      (summary.reportsFailed === 0 ? '' : `, ${summary.reportsFailed} failed`),
  );
  lines.push(
    summary.reportPath === undefined
      ? `report: none written (output directory ${summary.outDir})`
      : `report: ${summary.reportPath} (plain HTML: open it in any browser)`,
  );
  return `${lines.join('\n')}\n`;
}
