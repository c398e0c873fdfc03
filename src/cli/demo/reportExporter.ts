import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { definePlugin } from '../../plugin/index.js';
import type { ReportSnapshot, ReportWritten } from './ReportSnapshot.js';
import { renderReportHtml } from './renderReportHtml.js';

/** Where the report goes. */
export interface ReportExporterConfig {
  /** An existing directory; the demo lets the plugin write there and nowhere else. */
  readonly outDir: string;
  readonly fileName: string;
}

function isSnapshot(message: unknown): message is ReportSnapshot {
  if (typeof message !== 'object' || message === null) return false;
  const m = message as Partial<ReportSnapshot>;
  return typeof m.title === 'string' && Array.isArray(m.detectors) && Array.isArray(m.events) && typeof m.video === 'object';
}

/**
 * The demo's report exporter, off the hot path: each message is a document snapshot, each
 * answer says where the HTML report was written (the same file each time, rewritten).
 */
export default definePlugin<ReportExporterConfig>({
  name: 'report-export',
  start(ctx) {
    ctx.log.info(`report-export generation ${ctx.generation} writes into ${ctx.config.outDir}`);
  },
  async onMessage(message, ctx): Promise<ReportWritten> {
    if (!isSnapshot(message)) throw new TypeError('report-export expects a report snapshot');
    const html = renderReportHtml(message);
    const path = join(ctx.config.outDir, ctx.config.fileName);
    // Written in place, not to a temporary file renamed over it: under Node 20's permission
    // model `rename` is refused even inside a directory the process may write to.
    await writeFile(path, html, 'utf8');
    return { path, bytes: Buffer.byteLength(html) };
  },
});
