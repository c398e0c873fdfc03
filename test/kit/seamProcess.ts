// Runs the built `seam` command line as a real process, for the kit's end-to-end tests.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built command line's entry point. */
export const seamJs = fileURLToPath(new URL('../../dist/cli/seam.js', import.meta.url));

/** Absolute path of a fixture plugin module. */
export function fixture(name: string): string {
  return fileURLToPath(new URL(`../fixtures/plugins/${name}.mjs`, import.meta.url));
}

export interface SeamRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `seam <args>` to its exit; bounded, so a hung check fails its test instead of stalling it. */
export function seam(args: readonly string[]): Promise<SeamRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [seamJs, ...args], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      resolve({ code, stdout, stderr });
    });
  });
}
