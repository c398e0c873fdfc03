import type { Fault } from '../../machines/lifecycleTypes.js';
import { tailSummary } from '../tailSummary.js';

/** V8's fatal out-of-memory messages: a child that aborts with one of these ran out of heap. */
const OOM_MARKERS = ['JavaScript heap out of memory', 'Fatal process out of memory', 'Reached heap limit', 'Fatal javascript OOM', 'Fatal JavaScript OOM'];

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
