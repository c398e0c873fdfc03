// @ts-check
/** Plain-text aligned tables and number formatting for benchmark output. */

/**
 * Format a number compactly: 3 significant digits below 1000, thousands
 * separators above; NaN/undefined become `na`.
 * @param {number | undefined | null} v
 * @param {string} [na]
 */
export function fmtNum(v, na = 'n/a') {
  if (v === undefined || v === null || !Number.isFinite(v)) return na;
  const a = Math.abs(v);
  if (a >= 1000) return Math.round(v).toLocaleString('en-US');
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

/**
 * Render rows as an aligned table. The first column is left-aligned, the
 * others right-aligned.
 * @param {readonly string[]} header
 * @param {readonly (readonly string[])[]} rows
 * @returns {string}
 */
export function formatTable(header, rows) {
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((r) => (r[c] ?? '').length)));
  /** @param {readonly string[]} r */
  const line = (r) =>
    widths
      .map((w, c) => {
        const cell = r[c] ?? '';
        return c === 0 ? cell.padEnd(w) : cell.padStart(w);
      })
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/**
 * A target's verdict for the "met?" column: yes, NO, or `-` when there is no target or no value.
 * @param {boolean | null} met
 */
export function fmtMet(met) {
  return met === null ? '-' : met ? 'yes' : 'NO';
}
