import type { Fault } from '../../machines/lifecycleTypes.js';

/** V8's fatal out-of-memory messages: a child that aborts with one of these ran out of heap. */
const OOM_MARKERS = ['JavaScript heap out of memory', 'Fatal process out of memory', 'Reached heap limit', 'Fatal javascript OOM', 'Fatal JavaScript OOM'];

/** Lines of the stderr tail a failure's detail carries. */
const SUMMARY_LINES = 6;
/** Frames of each stack trace kept in that summary. */
const STACK_FRAMES_KEPT = 2;
/** Characters of one line kept in that summary (a plugin may print a megabyte on one line). */
const LINE_CHARS = 200;

/**
 * The last lines of an output tail worth reading in a failure's detail. A stack trace keeps
 * only its first frames and Node's closing version line is dropped, so the error's own
 * message — the line that says what happened — stays in view however deep the stack was.
 */
export function tailSummary(tail: string): string {
  const kept: string[] = [];
  let frames = 0;
  for (const line of tail.trim().split('\n')) {
    // A JavaScript frame (`    at …`) or one of V8's native frames (` 3: 0x1112684 v8::…`),
    // which fill a fatal error's tail and pushed its "Reached heap limit" line out of view.
    if (/^\s+at /.test(line) || /^\s*\d+: 0x[0-9a-f]+ /.test(line)) {
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

/**
 * The tails of a plugin process's output streams as a failure's detail quotes them:
 * `; stderr: …; stdout: …`, each summarised ({@link tailSummary}), an empty one left out.
 * stdout too: a plugin that prints why it gives up (`console.log`) says it there, and an
 * isolated plugin's stdout reaches the application nowhere else.
 */
export function quoteTails(stderrTail: string, stdoutTail: string): string {
  const quoted = [
    ['stderr', tailSummary(stderrTail)],
    ['stdout', tailSummary(stdoutTail)],
  ] as const;
  return quoted
    .filter(([, tail]) => tail !== '')
    .map(([name, tail]) => `; ${name}: ${tail}`)
    .join('');
}

/**
 * Classifies how a plugin process ended, from its exit code or signal and the tails of its
 * stderr and stdout (quoted in the detail). A V8 heap exhaustion aborts the process (SIGABRT, RELIABILITY E5): the stderr tail
 * tells it from a plain `abort()`. Any exit counts, code 0 included — the runtime decides
 * the failure class from the phase, this decides only the cause.
 */
export function classifyExit(code: number | null, signal: NodeJS.Signals | null, stderrTail: string, stdoutTail = ''): Fault {
  const quoted = quoteTails(stderrTail, stdoutTail);
  const detail = (what: string): string => `${what}${quoted}`;
  if (OOM_MARKERS.some((marker) => stderrTail.includes(marker))) {
    return { cause: 'oom', ...(signal === null ? {} : { signal }), ...(code === null ? {} : { exitCode: code }), detail: detail('out of memory') };
  }
  if (signal !== null) return { cause: 'signal', signal, detail: detail(`killed by ${signal}`) };
  return { cause: 'exit', exitCode: code ?? -1, detail: detail(`exited with code ${code ?? -1}`) };
}
