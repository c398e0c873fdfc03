import type { DemoEvent } from './DemoEvent.js';
import { cursorVisible, formatDashboard, formatEvent, formatStatusLine, redrawBlock, type DashboardHeader, type DashboardRow } from './formatDashboard.js';

/** Options of {@link LiveDashboard}. */
export interface LiveDashboardOptions {
  readonly out: (text: string) => void;
  /** A terminal: redraw a block in place. Otherwise: plain lines. */
  readonly isTTY: boolean;
  /** Terminal width, to keep lines from wrapping (which would break the redraw). */
  readonly columns: number | undefined;
  /** The current header and rows, read at each refresh. */
  readonly read: () => { readonly header: DashboardHeader; readonly rows: readonly DashboardRow[] };
}

/** Event lines kept under the dashboard in a terminal; older ones scroll away with a count. */
const MAX_EVENT_LINES = 12;

/**
 * The demo's live output. In a terminal it redraws a fixed block (the dashboard, then the
 * latest event lines below it) four times a second with ANSI cursor movement. Elsewhere
 * (a pipe, a file, CI) it prints one status line per instance about once a second and
 * each event line as it happens — no escape sequence at all.
 *
 * @example
 * ```ts
 * const dashboard = new LiveDashboard({ out, isTTY: true, columns: 120, read: () => ({ header, rows }) });
 * dashboard.start();
 * dashboard.event(event);
 * dashboard.stop(); // the final block stays on screen
 * ```
 */
export class LiveDashboard {
  readonly #options: LiveDashboardOptions;
  readonly #events: string[] = [];
  #olderEvents = 0;
  #drawnLines = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #stopped = false;

  constructor(options: LiveDashboardOptions) {
    this.#options = options;
  }

  /** Starts refreshing: every 250 ms in a terminal, every second otherwise. */
  start(): void {
    if (this.#timer !== undefined || this.#stopped) return;
    if (this.#options.isTTY) {
      this.#options.out(cursorVisible(false));
      this.#redraw();
    }
    this.#timer = setInterval(
      () => {
        this.#refresh();
      },
      this.#options.isTTY ? 250 : 1_000,
    );
  }

  /** Shows one event line: under the dashboard in a terminal, as its own line otherwise. */
  event(event: DemoEvent): void {
    const line = formatEvent(event);
    if (!this.#options.isTTY || this.#stopped) {
      this.#options.out(`${line}\n`);
      return;
    }
    this.#events.push(line);
    if (this.#events.length > MAX_EVENT_LINES) {
      this.#events.shift();
      this.#olderEvents += 1;
    }
    if (this.#timer !== undefined) this.#redraw();
  }

  /** Stops refreshing; in a terminal the last block stays and the cursor comes back. Idempotent. */
  stop(): void {
    if (this.#stopped) return;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#options.isTTY) {
      this.#redraw();
      this.#options.out(cursorVisible(true));
    }
    this.#stopped = true;
  }

  #refresh(): void {
    if (this.#options.isTTY) {
      this.#redraw();
      return;
    }
    const { header, rows } = this.#options.read();
    for (const row of rows) this.#options.out(`${formatStatusLine(header.elapsedS, row)}\n`);
  }

  #redraw(): void {
    const { header, rows } = this.#options.read();
    const lines = formatDashboard(header, rows);
    if (this.#events.length > 0) {
      lines.push('');
      if (this.#olderEvents > 0) lines.push(`(${this.#olderEvents} earlier event lines)`);
      lines.push(...this.#events);
    }
    this.#options.out(redrawBlock(this.#drawnLines, lines, this.#options.columns));
    this.#drawnLines = lines.length;
  }
}
