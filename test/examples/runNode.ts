import { spawn } from 'node:child_process';

/** What a finished process left behind. */
export interface ProcessResult {
  /** Exit code, or `null` when a signal ended it. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Whether it outlived its deadline and was killed. */
  readonly timedOut: boolean;
  readonly durationMs: number;
}

/** Options of {@link runProcess}. */
export interface RunOptions {
  readonly cwd: string;
  /** Hard deadline; past it the process is SIGKILLed and `timedOut` is true. */
  readonly timeoutMs: number;
  /** The whole environment of the process (default: this process's). */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Runs a command to completion and collects its output. Never rejects for a non-zero exit
 * (the caller asserts on `code`), and never hangs: past `timeoutMs` the process is killed.
 * Rejects only when the command cannot be started at all.
 *
 * Why a deadline and not the test's own timeout: a test timeout would leave the process
 * running and lose its output; this kills it and returns what it printed, for the failure
 * message.
 *
 * @example
 * ```ts
 * const r = await runProcess(process.execPath, ['examples/hello-world/host.mjs'], { cwd: root, timeoutMs: 15_000 });
 * expect(r.code).toBe(0);
 * ```
 */
export function runProcess(command: string, args: readonly string[], options: RunOptions): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    // 'close', not 'exit': it fires once stdout and stderr have been read to the end.
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut, durationMs: performance.now() - started });
    });
  });
}

/** A one-paragraph account of a run, for assertion messages. */
export function describeRun(label: string, result: ProcessResult): string {
  const ending = result.timedOut ? `killed after ${Math.round(result.durationMs)} ms` : `exit ${result.code ?? result.signal}`;
  return `${label}: ${ending}\n--- stdout ---\n${result.stdout}\n--- stderr ---\n${result.stderr}`;
}
