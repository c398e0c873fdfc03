// @ts-check
/**
 * The pinned placement, shared by both benchmark runners: re-execute a script under
 * `taskset -c 0` (the whole process tree inherits the affinity) with `--child --placement
 * pinned --json <file>`, bounded in time, and return the JSON it wrote.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { bounded } from './drive.js';

/**
 * @param {string} script absolute path of the runner to re-execute
 * @param {readonly string[]} extraArgs flags passed through (e.g. `--quick`)
 * @param {number} timeoutMs the child is SIGKILLed past this
 * @returns {Promise<unknown>} the parsed JSON the child wrote
 */
export async function runPinned(script, extraArgs, timeoutMs) {
  const dir = mkdtempSync(join(tmpdir(), 'plugin-seam-bench-'));
  const file = join(dir, 'pinned.json');
  try {
    const child = spawn('taskset', ['-c', '0', process.execPath, script, '--child', '--placement', 'pinned', '--json', file, ...extraArgs], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    /** @type {Promise<number | null>} */
    const exited = new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => {
        resolve(code);
      });
    });
    let code;
    try {
      code = await bounded(exited, timeoutMs, 'pinned run');
    } catch (err) {
      child.kill('SIGKILL');
      throw err;
    }
    if (code !== 0) throw new Error(`pinned run exited with code ${String(code)}`);
    return JSON.parse(readFileSync(file, 'utf8'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
