// Where a plugin happens to run, for this example's printout only. Plugin logic never
// depends on it: the same file runs in any mode.
import { threadId } from 'node:worker_threads';

/** @returns {string} e.g. `pid 4242, thread 0` */
export function where() {
  return `pid ${process.pid}, thread ${threadId}`;
}
