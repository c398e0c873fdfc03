// @ts-check
/**
 * Fork-to-first-message baseline (bench/ours/lifecycle.js): a bare Node process whose only
 * work is to write one message on the pipe it inherited as fd 3, then exit.
 */
import { writeSync } from 'node:fs';

writeSync(3, 'hello');
