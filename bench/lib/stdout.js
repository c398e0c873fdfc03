// @ts-check
import process from 'node:process';

/** `... | head` closes stdout early: stop quietly instead of crashing on EPIPE (both runners). */
export function exitQuietlyOnEpipe() {
  process.stdout.on('error', (/** @type {NodeJS.ErrnoException} */ err) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}
