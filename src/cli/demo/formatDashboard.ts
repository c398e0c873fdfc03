/**
 * The demo's text output, as pure functions of plain data: the dashboard block, the plain
 * status lines, the event lines and the ANSI redraw. No clock, no stream, no runtime here,
 * so every format is unit-tested as is.
 */
import type { Failure } from '../../machines/lifecycleTypes.js';
import type { DemoEvent } from './DemoEvent.js';

/** One instance, as one row of the dashboard shows it. */
export interface DashboardRow {
  readonly id: string;
  readonly mode: string;
  readonly state: string;
  readonly generation: number;
  /** Done frames per second over the window; `undefined` for an instance that takes no frames. */
  readonly fps: number | undefined;
  readonly p50Ms: number | undefined;
  readonly p99Ms: number | undefined;
  /** Inputs done (frames, or messages for a message-only instance). */
  readonly done: number;
  readonly lost: number;
  readonly dropped: number;
  readonly restarts: number;
  readonly lastFailure: Failure | undefined;
  /** While failed: the restart delay, when one is scheduled. */
  readonly restartInMs: number | undefined;
}

/** The first line of the dashboard. */
export interface DashboardHeader {
  readonly elapsedS: number;
  readonly durationS: number;
  readonly width: number;
  readonly height: number;
  readonly format: string;
  readonly fps: number;
  readonly reportsWritten: number;
}

const ESC = '\u001b[';

/** The error line (`Name: message`) of an uncaught error, found in a failure's stderr tail. */
export function uncaughtErrorOf(failure: Failure): string | undefined {
  // An isolated plugin's failure detail is `exited with code 1; stderr: <tail>`: the error
  // line is the first one shaped `Name: message`, possibly right after `stderr: `.
  for (const line of (failure.detail ?? '').split('\n')) {
    const match = /(?:^|stderr: )([A-Z][\w$]*: \S.*)$/.exec(line.trim());
    if (match?.[1] !== undefined) return match[1];
  }
  return undefined;
}

/**
 * A failure in a few words: `class/cause`, then the exit code or signal, then the
 * generation, e.g. `lost/exit code 1 (gen 1)`.
 */
export function formatFailure(failure: Failure): string {
  const how = failure.signal !== undefined ? ` ${failure.signal}` : failure.exitCode !== undefined ? ` code ${failure.exitCode}` : '';
  return `${failure.class}/${failure.cause}${how} (gen ${failure.generation})`;
}

function num(value: number | undefined, digits: number): string {
  return value === undefined ? '-' : value.toFixed(digits);
}

function lastFailureCell(row: DashboardRow): string {
  if (row.lastFailure === undefined) return '-';
  const restart = row.state === 'failed' && row.restartInMs !== undefined ? `, restart in ${Math.round(row.restartInMs)} ms` : '';
  return `${formatFailure(row.lastFailure)}${restart}`;
}

const COLUMNS: readonly { readonly title: string; readonly width: number; readonly right?: boolean; readonly cell: (row: DashboardRow) => string }[] = [
  { title: 'instance', width: 18, cell: (r) => r.id },
  { title: 'mode', width: 8, cell: (r) => r.mode },
  { title: 'state', width: 8, cell: (r) => r.state },
  { title: 'gen', width: 3, right: true, cell: (r) => String(r.generation) },
  { title: 'fps', width: 5, right: true, cell: (r) => num(r.fps, 1) },
  { title: 'p50 ms', width: 7, right: true, cell: (r) => num(r.p50Ms, 2) },
  { title: 'p99 ms', width: 7, right: true, cell: (r) => num(r.p99Ms, 2) },
  { title: 'done', width: 6, right: true, cell: (r) => String(r.done) },
  { title: 'lost', width: 4, right: true, cell: (r) => String(r.lost) },
  { title: 'drop', width: 4, right: true, cell: (r) => String(r.dropped) },
  { title: 'rst', width: 3, right: true, cell: (r) => String(r.restarts) },
  { title: 'last failure', width: 0, cell: lastFailureCell },
];

function pad(text: string, width: number, right: boolean | undefined): string {
  if (width === 0) return text;
  const cut = text.length > width ? text.slice(0, width) : text;
  return right === true ? cut.padStart(width) : cut.padEnd(width);
}

/**
 * The dashboard block: a header line, a column header and one row per instance.
 *
 * @example
 * ```ts
 * formatDashboard(header, rows).join('\n');
 * // seam demo  1920x1080 gray @ 30 fps  t=12.0/20 s  reports written: 5
 * // instance           mode     state    gen   fps  p50 ms  p99 ms   done lost drop rst last failure
 * // detector-embedded  embedded running    1  30.0    1.20    3.40    360    0    0   0 -
 * ```
 */
export function formatDashboard(header: DashboardHeader, rows: readonly DashboardRow[]): string[] {
  const title =
    `seam demo  ${header.width}x${header.height} ${header.format} @ ${header.fps} fps  ` +
    `t=${header.elapsedS.toFixed(1)}/${header.durationS} s  reports written: ${header.reportsWritten}`;
  const line = (cells: (c: (typeof COLUMNS)[number]) => string): string =>
    COLUMNS.map((c) => pad(cells(c), c.width, c.right))
      .join(' ')
      .trimEnd();
  return [title, line((c) => c.title), ...rows.map((row) => line((c) => c.cell(row)))];
}

/**
 * One plain status line of one instance (the non-terminal output, about once a second).
 *
 * @example
 * ```ts
 * formatStatusLine(3, row);
 * // t=3.0s detector-isolated isolated running gen 2 fps 29.8 p50 1.30 ms p99 4.00 ms done 85 lost 1 dropped 3 restarts 1 last failure lost/exit code 1 (gen 1)
 * ```
 */
export function formatStatusLine(elapsedS: number, row: DashboardRow): string {
  const frames = row.fps === undefined ? '' : ` fps ${num(row.fps, 1)} p50 ${num(row.p50Ms, 2)} ms p99 ${num(row.p99Ms, 2)} ms`;
  return (
    `t=${elapsedS.toFixed(1)}s ${row.id} ${row.mode} ${row.state} gen ${row.generation}${frames} ` +
    `done ${row.done} lost ${row.lost} dropped ${row.dropped} restarts ${row.restarts} last failure ${lastFailureCell(row)}`
  );
}

/**
 * What happened, without the time: `formatEvent` without its `[t=…]` prefix (the report
 * shows the time in a column of its own).
 */
export function describeEvent(event: DemoEvent): string {
  switch (event.kind) {
    case 'failure': {
      const error = uncaughtErrorOf(event.failure);
      const next = event.exhausted ? 'restart budget exhausted' : event.restartInMs === undefined ? 'no restart' : `backoff ${Math.round(event.restartInMs)} ms, then restart`;
      return `FAILURE ${event.id}: ${formatFailure(event.failure)}${error === undefined ? '' : `: ${error}`}; ${next}`;
    }
    case 'restart':
      return `RESTART ${event.id}: generation ${event.generation} is up (restart ${event.restarts})`;
    case 'recovered':
      return `RECOVERED ${event.id}: frames flowing again on generation ${event.generation}, ${Math.round(event.afterMs)} ms after the failure (${event.lost} frame${event.lost === 1 ? '' : 's'} lost)`;
    case 'log':
      return `[${event.id}] ${event.level}: ${event.message}`;
  }
}

/**
 * One event line.
 *
 * @example
 * ```ts
 * formatEvent({ kind: 'restart', atS: 8.4, id: 'detector-isolated', generation: 2, restarts: 1 });
 * // [t=8.4s] RESTART detector-isolated: generation 2 is up (restart 1)
 * ```
 */
export function formatEvent(event: DemoEvent): string {
  return `[t=${event.atS.toFixed(1)}s] ${describeEvent(event)}`;
}

/** Cuts a line to the terminal width (one column short, so it never wraps). */
function fit(line: string, columns: number | undefined): string {
  if (columns === undefined || columns <= 1 || line.length < columns) return line;
  return line.slice(0, columns - 1);
}

/**
 * The ANSI text that replaces a block of `previousLines` lines (just above the cursor) with
 * `lines`: cursor up to the block's first line, each line rewritten and cleared to its end,
 * then everything below cleared (the block may have shrunk). The cursor ends below the block.
 *
 * @example
 * ```ts
 * out(redrawBlock(0, lines));           // first draw
 * out(redrawBlock(lines.length, next)); // redraw in place
 * ```
 */
export function redrawBlock(previousLines: number, lines: readonly string[], columns?: number): string {
  const up = previousLines > 0 ? `${ESC}${previousLines}F` : '';
  const body = lines.map((l) => `${fit(l, columns)}${ESC}K\n`).join('');
  return `${up}${body}${ESC}J`;
}

/** Hides (`false`) or shows (`true`) the terminal cursor. */
export function cursorVisible(visible: boolean): string {
  return `${ESC}?25${visible ? 'h' : 'l'}`;
}
