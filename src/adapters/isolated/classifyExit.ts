import type { Fault } from '../../machines/lifecycleTypes.js';

/** V8's fatal out-of-memory messages: a child that aborts with one of these ran out of heap. */
const OOM_MARKERS = ['JavaScript heap out of memory', 'Fatal process out of memory', 'Reached heap limit'];

/**
 * Classifies how a plugin process ended, from its exit code or signal and the tail of its
 * stderr. A V8 heap exhaustion aborts the process (SIGABRT, RELIABILITY E5): the stderr tail
 * tells it from a plain `abort()`. Any exit counts, code 0 included — the runtime decides
 * the failure class from the phase, this decides only the cause.
 */
export function classifyExit(code: number | null, signal: NodeJS.Signals | null, stderrTail: string): Fault {
  const tail = stderrTail.trim().split('\n').slice(-6).join('\n');
  const detail = (what: string): string => (tail.length === 0 ? what : `${what}; stderr: ${tail}`);
  if (OOM_MARKERS.some((marker) => stderrTail.includes(marker))) {
    return { cause: 'oom', ...(signal === null ? {} : { signal }), ...(code === null ? {} : { exitCode: code }), detail: detail('out of memory') };
  }
  if (signal !== null) return { cause: 'signal', signal, detail: detail(`killed by ${signal}`) };
  return { cause: 'exit', exitCode: code ?? -1, detail: detail(`exited with code ${code ?? -1}`) };
}
