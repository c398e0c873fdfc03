// @ts-check
/**
 * Isolated mode's part of the report (bench/run.js): its ratios with targets, the lifecycle
 * rows (absolute times from the kill) and their table.
 */
import { fmtMet, fmtNum, formatTable } from '../lib/table.js';

/**
 * @typedef {import('../run.js').RatioEntry} RatioEntry
 * @typedef {import('../run.js').PlacementResult} PlacementResult
 * @typedef {import('./lifecycle.js').LifecycleResult} LifecycleResult
 * @typedef {import('./lifecycle.js').LifecycleRep} LifecycleRep
 * @typedef {{ med: number, reps: number[] }} Side a median and its per-repetition values
 * @typedef {(name: string, a: Side, b: Side, how: string, op: '<=' | '>=' | null, t?: number) => RatioEntry} EntryFn
 */

/**
 * @typedef {object} LifecycleTarget
 * @property {string} name
 * @property {number} valueMs median over reps
 * @property {number[]} repRange [min, max] ms
 * @property {string} target
 * @property {boolean | null} met
 */

/**
 * Isolated mode's targets: against the cross-process peers, against embedded mode for frames,
 * and its restart against a bare spawn.
 * @param {PlacementResult} r
 * @param {{ rt: (c: string) => Side, pl: (c: string) => Side, fr: (c: string, s: string) => Side, entry: EntryFn }} f
 * @returns {RatioEntry[]}
 */
export function isolatedRatios(r, { rt, pl, fr, entry }) {
  // process.send (advanced) may not move a 4K frame within its time cap: then compare at 1080p.
  const forkSize = Number.isFinite(fr('fork-advanced', '4K').med) ? '4K' : '1080p';
  const forkNote = forkSize === '4K' ? '' : ' (process.send advanced: no 4K result)';
  const l = r.lifecycle;
  return [
    entry('rt p50: isolated frame / Unix socket', rt('isolated frame'), rt('uds'), 'p50 µs / p50 µs', '<=', 1.0),
    entry('rt p50: isolated message / Unix socket', rt('isolated message'), rt('uds'), 'p50 µs / p50 µs', '<=', 1.0),
    entry('pipelined: isolated frame / process.send json', pl('isolated frame'), pl('fork-json'), 'inputs/s / msg/s', '>=', 5),
    entry('pipelined: isolated message / process.send json', pl('isolated message'), pl('fork-json'), 'inputs/s / msg/s', '>=', 5),
    entry(`${forkSize}: isolated zero-copy / process.send advanced${forkNote}`, fr('isolated zero-copy', forkSize), fr('fork-advanced', forkSize), 'f/s / f/s', '>=', 100),
    entry('4K: isolated zero-copy / embedded zero-copy', fr('isolated zero-copy', '4K'), fr('embedded zero-copy', '4K'), 'f/s / f/s', '>=', 0.8),
    entry('4K: isolated one-copy time / memcpy time', fr('memcpy', '4K'), fr('isolated one-copy', '4K'), 'memcpy f/s / one-copy f/s', null),
    entry('rt p50: isolated frame, copy / shared-memory transport', rt('isolated frame (copy transport)'), rt('isolated frame'), 'p50 µs / p50 µs', null),
    entry('rt p50: isolated message, copy / shared-memory transport', rt('isolated message (copy transport)'), rt('isolated message'), 'p50 µs / p50 µs', null),
    entry('pipelined: isolated frame, copy transport / process.send json', pl('isolated frame (copy transport)'), pl('fork-json'), 'inputs/s / msg/s', null),
    entry('pipelined: isolated message, copy transport / process.send json', pl('isolated message (copy transport)'), pl('fork-json'), 'inputs/s / msg/s', null),
    entry(
      'recovery: isolated kill -> running / bare spawn -> 1st message',
      { med: l?.recoverMs ?? Number.NaN, reps: (l?.reps ?? []).map((x) => x.recoverMs) },
      { med: l?.spawnMs ?? Number.NaN, reps: (l?.reps ?? []).map((x) => x.spawnMs) },
      'ms / ms (paired per rep)',
      '<=',
      2,
    ),
  ];
}

/**
 * The lifecycle rows: medians of the times from the kill (ms), with the detection target.
 * @param {LifecycleResult | null} l
 * @returns {LifecycleTarget[]}
 */
export function lifecycleTargets(l) {
  if (!l) return [];
  /** @param {string} name @param {(x: LifecycleRep) => number} f @param {number} value @param {number} [max] @returns {LifecycleTarget} */
  const row = (name, f, value, max) => {
    const reps = l.reps.map(f).filter(Number.isFinite);
    return {
      name,
      valueMs: value,
      repRange: reps.length ? [Math.min(...reps), Math.max(...reps)] : [],
      target: max === undefined ? 'info' : `≤ ${max} ms`,
      met: max === undefined || !Number.isFinite(value) ? null : value <= max,
    };
  };
  return [
    row('kill -> status$ shows generation N failed', (x) => x.detectMs, l.detectMs, 50),
    row('kill -> every send() N held has rejected', (x) => x.rejectMs, l.rejectMs),
    row('kill -> running on generation N+1', (x) => x.recoverMs, l.recoverMs),
    row('kill -> requeued sends answered by N+1', (x) => x.requeuedMs, l.requeuedMs),
    row('bare spawn -> first message on a pipe', (x) => x.spawnMs, l.spawnMs),
  ];
}

/**
 * The lifecycle table and a line on what each repetition saw.
 * @param {LifecycleResult} l
 * @param {LifecycleTarget[]} rows
 * @returns {string}
 */
export function formatLifecycle(l, rows) {
  const table = formatTable(
    [`isolated lifecycle (SIGKILL, ${l.reps.length} reps)`, 'p50 ms', 'rep range', 'target', 'met?'],
    rows.map((x) => [
      x.name,
      fmtNum(x.valueMs),
      x.repRange.length === 2 ? x.repRange.map((v) => fmtNum(v)).join('-') : '',
      x.target,
      fmtMet(x.met),
    ]),
  );
  /** @param {(x: LifecycleRep) => string} f distinct values over the reps */
  const seen = (f) => [...new Set(l.reps.map(f))].join(', ');
  const detail =
    `  transport ${l.transport || '?'}; failure ${seen((x) => x.cause)}; detected by ${seen((x) => x.detectedBy)}; ` +
    `per rep: ${seen((x) => `${x.rejected} held rejected (${x.rejection})`)}, ${seen((x) => `${x.requeued} requeued`)}` +
    (l.error ? `; error: ${l.error}` : '');
  return `${table}\n${detail}`;
}
