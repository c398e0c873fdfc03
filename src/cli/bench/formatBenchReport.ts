import type { BenchInput, BenchReport, ModeComparison, ModeResult } from './BenchReport.js';
import { ms } from './recommendMode.js';

const STAGE_WORDS = { start: 'while starting', 'warm-up': 'while warming up', measure: 'while measured' } as const;

/**
 * The report of `seam bench` as text: what was measured, a table with one row per mode
 * (ratios against the baseline), the finding, the recommendation, and the rule last.
 *
 * @example
 * ```ts
 * for (const line of formatBenchReport(report)) console.log(line);
 * ```
 */
export function formatBenchReport(report: BenchReport): string[] {
  const base = report.baseline ?? 'inline';
  const header = ['mode', 'transport', 'start ms', 'p50 ms', 'p99 ms', 'inputs/s', `p50 ×${base}`, `inputs/s ×${base}`];
  const rows: string[][] = [];
  const failed: string[] = [];
  for (const result of report.results) {
    if (!result.ok) {
      failed.push(`${result.mode.padEnd(9)} failed ${STAGE_WORDS[result.stage]}: ${result.error}`);
      continue;
    }
    const c = report.comparisons.find((x) => x.mode === result.mode);
    rows.push(row(result, c));
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (i < 2 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [
    `seam bench: ${report.plugin.name} (${report.plugin.module})`,
    `input: ${describeInput(report.input)}; ${report.rounds} interleaved round${report.rounds === 1 ? '' : 's'} of ` +
      `${seconds(report.durationS / report.rounds)} per mode and measure after a warm-up, ${report.inFlight} in flight for throughput; medians`,
    '',
    line(header),
    ...rows.map(line),
    ...failed,
    '',
    ...(report.recommendation.finding === '' ? [] : [report.recommendation.finding]),
    `recommendation: ${report.recommendation.advice}`,
    report.rule,
  ];
}

function row(result: ModeResult & { ok: true }, c: ModeComparison | undefined): string[] {
  return [
    result.mode,
    result.transport,
    ms(result.startMs),
    ms(result.roundTrip.p50Ms),
    ms(result.roundTrip.p99Ms),
    rate(result.throughput.perSecond),
    c === undefined ? '-' : `${c.p50Ratio.toFixed(2)}×`,
    c === undefined ? '-' : `${c.throughputRatio.toFixed(2)}×`,
  ];
}

function describeInput(input: BenchInput): string {
  if (input.kind === 'message') return `messages ${JSON.stringify(input.message) ?? 'undefined'}`;
  return `frames ${input.width}x${input.height} ${input.format} (${input.byteLength} bytes)`;
}

function rate(perSecond: number): string {
  return perSecond >= 100 ? perSecond.toFixed(0) : perSecond.toFixed(1);
}

function seconds(s: number): string {
  return s >= 1 ? `${s.toFixed(1)} s` : `${(s * 1_000).toFixed(0)} ms`;
}
