/** Lines of the stderr tail a failure's detail carries. */
const SUMMARY_LINES = 6;
/** Frames of each stack trace kept in that summary, and in an embedded worker's uncaught error. */
export const STACK_FRAMES_KEPT = 2;
/** Characters of one line kept in that summary (a plugin may print a megabyte on one line). */
const LINE_CHARS = 200;

/**
 * The last lines of an output tail worth reading in a failure's detail. A stack trace keeps
 * only its first frames and Node's closing version line is dropped, so the error's own
 * message — the line that says what happened — stays in view however deep the stack was.
 *
 * @example
 * ```ts
 * const detail = `exited with code 1; stderr: ${tailSummary(stderrTail)}`;
 * ```
 */
export function tailSummary(tail: string): string {
  const kept: string[] = [];
  let frames = 0;
  for (const line of tail.trim().split('\n')) {
    // A JavaScript frame (`    at …`) or one of V8's native frames (` 3: 0x1112684 v8::…`),
    // which fill a fatal error's tail and pushed its "Reached heap limit" line out of view.
    if (isStackFrame(line) || /^\s*\d+: 0x[0-9a-f]+ /.test(line)) {
      frames += 1;
      if (frames > STACK_FRAMES_KEPT) continue;
    } else {
      frames = 0;
      if (/^Node\.js v\d/.test(line)) continue;
    }
    kept.push(line.length > LINE_CHARS ? `${line.slice(0, LINE_CHARS)}…` : line);
  }
  return kept.slice(-SUMMARY_LINES).join('\n').trim();
}

/** Whether a line of a JavaScript stack trace is one of its frames (`    at …`). */
export function isStackFrame(line: string): boolean {
  return /^\s+at /.test(line);
}
