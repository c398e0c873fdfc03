import type { CheckReport, TranscriptDifference } from './CheckReport.js';
import { shortenDiffering } from './canonicalValue.js';

function indentLines(text: string, by: string): string {
  return text
    .split('\n')
    .map((line) => `${by}${line}`)
    .join('\n');
}

/** The `modes` differences grouped by where they occur, each with the value of every mode seen there. */
function modeDifferences(report: CheckReport): string[] {
  const groups = new Map<string, TranscriptDifference[]>();
  for (const d of report.differences) {
    if (d.check !== 'modes') continue;
    const key = `${d.run}, ${d.step}`;
    groups.set(key, [...(groups.get(key) ?? []), d]);
  }
  const lines: string[] = [];
  for (const [where, diffs] of groups) {
    const values = new Map<string, string[]>();
    const add = (value: string, mode: string): void => {
      values.set(value, [...(values.get(value) ?? []), mode]);
    };
    const reference = diffs[0];
    if (reference === undefined) continue;
    add(reference.expected, reference.against);
    for (const d of diffs) add(d.actual, d.mode);
    const width = Math.max(...[...values.values()].map((modes) => modes.join(', ').length)) + 1;
    lines.push(`  ${where}:`);
    const shown = shortenDiffering([...values.keys()], 200);
    for (const [i, modes] of [...values.values()].entries()) {
      const [head = '', ...rest] = (shown[i] ?? '').split('\n');
      lines.push(`    ${`${modes.join(', ')}:`.padEnd(width)} ${head}`);
      for (const line of rest) lines.push(`    ${' '.repeat(width)} ${line}`);
    }
    const also = new Set(diffs.flatMap((d) => d.alsoAt));
    if (also.size > 0) lines.push(`    also differs at: ${[...also].slice(0, 8).join(', ')}${also.size > 8 ? ', …' : ''}`);
  }
  return lines;
}

/**
 * Renders a {@link CheckReport} for a human, as `seam check` prints it: one line per mode
 * (PASS or FAIL), every case of a failing mode with the reason of each failure (the first
 * input where two transcripts part, with both values, and the likely cause), the
 * differences between modes grouped by input with each mode's value, and a verdict line.
 * No colours, no terminal control codes.
 *
 * @example
 * ```ts
 * const report = await checkPlugin('./dist/my-plugin.js');
 * process.stdout.write(`${formatCheckReport(report)}\n`);
 * ```
 */
export function formatCheckReport(report: CheckReport): string {
  const seconds = (report.durationMs / 1000).toFixed(1);
  const lines = [
    `seam check ${report.module}`,
    `modes: ${report.modes.map((m, i) => (i === 0 && report.modes.length > 1 ? `${m} (reference)` : m)).join(', ')}; ${report.inputs.length} inputs; ${seconds} s`,
    '',
  ];
  const width = Math.max(...report.modes.map((m) => m.length));
  for (const mode of report.modes) {
    const results = report.results.filter((r) => r.mode === mode);
    const passed = results.filter((r) => r.passed).length;
    const ok = passed === results.length;
    lines.push(`${mode.padEnd(width)}  ${ok ? 'PASS' : 'FAIL'}  ${passed}/${results.length} checks passed`);
    if (ok) continue;
    for (const r of results) {
      const title = r.name.replace(/^\[[a-z]+\] /, '');
      lines.push(`  ${r.passed ? 'ok  ' : 'FAIL'} ${title}`);
      if (!r.passed && r.message !== undefined) lines.push(indentLines(r.message, '         '));
    }
  }
  const betweenModes = modeDifferences(report);
  if (betweenModes.length > 0) lines.push('', 'differences between modes:', ...betweenModes);
  lines.push('');
  const failed = report.results.filter((r) => !r.passed);
  if (failed.length === 0) {
    lines.push(`PASS: the plugin conforms in ${report.modes.join(', ')}`);
  } else {
    const failingModes = report.modes.filter((m) => failed.some((r) => r.mode === m));
    const dependent =
      report.differences.some((d) => d.check === 'modes') || (failingModes.length > 0 && failingModes.length < report.modes.length);
    lines.push(
      `FAIL: ${failed.length} of ${report.results.length} checks failed (${failingModes.join(', ')})${dependent ? '; the plugin behaves differently depending on its mode' : ''}`,
    );
  }
  return lines.join('\n');
}
