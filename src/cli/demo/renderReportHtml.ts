import type { ReportDetector, ReportSnapshot } from './ReportSnapshot.js';

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;').replaceAll("'", '&#39;');
}

const COLOURS = ['#4cc9f0', '#f72585', '#b5e48c', '#ffd166', '#cdb4db', '#f4a261', '#90e0ef', '#ff99c8'];

function ms(value: number): string {
  return value.toFixed(value < 10 ? 2 : 1);
}

/** The latest detections of one detector, drawn over a frame-sized canvas. */
function latestFrameSvg(detector: ReportDetector, width: number, height: number): string {
  const latest = detector.recent.at(-1);
  const rects = (latest?.blobs ?? [])
    .map(
      (b, i) =>
        `<rect x="${b.x}" y="${b.y}" width="${b.w}" height="${b.h}" fill="none" stroke="${COLOURS[i % COLOURS.length] ?? '#fff'}" stroke-width="${Math.max(2, Math.round(width / 400))}"/>`,
    )
    .join('');
  const label = latest === undefined ? 'no frame yet' : `frame ${latest.frame} (generation ${latest.generation}): ${latest.blobs.length} blobs`;
  return `<figure><svg viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeHtml(label)}"><rect width="${width}" height="${height}" fill="#1b1b1f"/>${rects}</svg><figcaption>${escapeHtml(label)}</figcaption></figure>`;
}

function detectorSection(detector: ReportDetector, snapshot: ReportSnapshot): string {
  const failures =
    detector.failures.length === 0
      ? '<p>No failure.</p>'
      : `<ul>${detector.failures
          .map((f) => `<li>generation ${f.generation}: <b>${escapeHtml(f.class)}</b> (${escapeHtml(f.cause)})${f.detail === undefined ? '' : ` <code>${escapeHtml(f.detail)}</code>`}</li>`)
          .join('')}</ul>`;
  const rows = [...detector.recent]
    .reverse()
    .map(
      (r) =>
        `<tr><td>${r.frame}</td><td>${r.generation}</td><td>${r.blobs.length}</td><td>${r.blobs
          .map((b) => `${b.w}×${b.h} at (${b.x}, ${b.y}), level ${b.level}`)
          .map(escapeHtml)
          .join('<br>')}</td></tr>`,
    )
    .join('');
  return `<section>
<h2>${escapeHtml(detector.id)} <small>${escapeHtml(detector.mode)}</small></h2>
${latestFrameSvg(detector, snapshot.video.width, snapshot.video.height)}
<h3>Failures</h3>
${failures}
<h3>Recent detections</h3>
<table><thead><tr><th>frame</th><th>generation</th><th>blobs</th><th>boxes</th></tr></thead><tbody>${rows}</tbody></table>
</section>`;
}

/**
 * Renders the demo's report as one self-contained HTML document: inline CSS and SVG, no
 * script, no external resource and no dependency, so any browser opens the file as is (and
 * it can be mailed or archived alone). While the run goes on the page reloads itself every
 * two seconds; the final report does not.
 *
 * @example
 * ```ts
 * await writeFile('report.html', renderReportHtml(snapshot));
 * ```
 */
export function renderReportHtml(snapshot: ReportSnapshot): string {
  const { video } = snapshot;
  const summary = snapshot.detectors
    .map(
      (d) =>
        `<tr><td>${escapeHtml(d.id)}</td><td>${escapeHtml(d.mode)}</td><td>${escapeHtml(d.state)}</td><td>${d.generation}</td><td>${d.restarts}</td><td>${d.framesDone}</td><td>${d.framesLost}</td><td>${d.framesDropped}</td><td>${d.detections}</td><td>${ms(d.p50Ms)}</td><td>${ms(d.p99Ms)}</td></tr>`,
    )
    .join('');
  const events =
    snapshot.events.length === 0
      ? '<p>No lifecycle event.</p>'
      : `<ol>${snapshot.events.map((e) => `<li><code>t=${e.atS.toFixed(1)}s</code> ${escapeHtml(e.text)}</li>`).join('')}</ol>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${snapshot.final ? '' : '<meta http-equiv="refresh" content="2">\n'}<title>${escapeHtml(snapshot.title)}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
svg { width: 480px; max-width: 100%; height: auto; border: 1px solid #999; }
small { color: #666; font-weight: normal; }
code { background: #f6f6f6; white-space: pre-wrap; }
</style>
</head>
<body>
<h1>${escapeHtml(snapshot.title)}</h1>
<p>${snapshot.final ? 'Final report' : 'Live report (reloads every 2 s)'}, written ${escapeHtml(snapshot.createdAt)} after ${snapshot.elapsedS.toFixed(1)} s of video:
${video.width}×${video.height} ${escapeHtml(video.format)} at ${video.fps} fps.</p>
<table><thead><tr><th>instance</th><th>mode</th><th>state</th><th>generation</th><th>restarts</th><th>frames done</th><th>lost</th><th>dropped</th><th>detections</th><th>p50 ms</th><th>p99 ms</th></tr></thead>
<tbody>${summary}</tbody></table>
<h2>Lifecycle events</h2>
${events}
${snapshot.detectors.map((d) => detectorSection(d, snapshot)).join('\n')}
</body>
</html>
`;
}
