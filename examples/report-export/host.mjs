// Runs a report exporter isolated, under a restart policy, and lets it crash once.
//
//   node examples/report-export/host.mjs
//
// The second report triggers the plugin's own bug: its process dies, that one send()
// rejects with LostWhileRunning, and the runtime restarts the plugin (generation 2) after
// a short backoff. The third report is simply queued until then and succeeds.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LostWhileRunning, createRuntime } from 'plugin-seam';

const reports = [
  { title: 'Q1 Sales', rows: [{ item: 'widgets', amount: 1200 }, { item: 'gadgets', amount: 830.5 }] },
  // The bug's trigger: a row without an amount.
  { title: 'Q2 Sales', rows: [{ item: 'widgets', amount: 990 }, { item: 'gizmos' }] },
  { title: 'Q3 Sales', rows: [{ item: 'widgets', amount: 1410 }, { item: 'gizmos', amount: 75.25 }] },
];

const outDir = await mkdtemp(path.join(tmpdir(), 'report-export-'));
const runtime = createRuntime();
const p = runtime.load({
  id: 'exporter',
  module: new URL('./exporter.mjs', import.meta.url),
  mode: 'isolated',
  config: { outDir },
  restart: {
    policy: 'permanent', // restart after any loss (`transient`: not after a clean exit; `never`)
    intensity: { maxRestarts: 3, withinMs: 60_000 }, // more than 3 losses a minute: give up
    backoff: { initialMs: 200, factor: 2, maxMs: 2_000 }, // wait 200 ms, then 400, 800, …
  },
});

// status$ replays the current status, then every change; print only lifecycle transitions.
let previous = '';
p.status$.subscribe((s) => {
  const line = `${s.state} (generation ${s.generation})`;
  if (line === previous) return;
  previous = line;
  const failure = s.failure ? ` — ${s.failure.class}/${s.failure.cause}` : '';
  const restart = s.restart?.scheduled ? `, restart in ${s.restart.delayMs} ms` : '';
  console.log(`[status] ${line}${failure}${restart}`);
});
p.logs$.subscribe((l) => console.log(`[plugin log] ${l.message}`));

try {
  await p.start();
  await p.run();
  for (const report of reports) {
    try {
      const result = await p.send(report);
      console.log(`[export] ${report.title}: wrote ${result.file} (${result.bytes} bytes) in generation ${result.generation}`);
    } catch (error) {
      if (!(error instanceof LostWhileRunning)) throw error;
      // `detail` carries the exit code and the tail of the plugin's stderr: show its error line.
      const why = error.detail?.split('\n').find((line) => line.includes('Error')) ?? error.detail;
      console.log(`[export] ${report.title}: ${error.name} in generation ${error.generation} (${error.failureCause}): ${why}`);
    }
  }
  console.log(`restarts: ${p.status.restarts}`);
  console.log(`--- q3-sales.txt ---\n${await readFile(path.join(outDir, 'q3-sales.txt'), 'utf8')}---`);
} finally {
  // Whatever happened, stop the plugin's process and remove the reports.
  await runtime.shutdown();
  await rm(outDir, { recursive: true, force: true });
}
