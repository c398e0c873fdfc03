/** Where a command writes; tests pass their own. */
export interface CliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** Whether `out` is an interactive terminal (the demo redraws its dashboard in place only then). */
  readonly isTTY: boolean;
}

/**
 * One `seam` sub-command. Each lives in its own file under `src/cli/commands/` and is
 * listed once in `seam.ts`, which prints the usage of all of them.
 */
export interface CliCommand {
  readonly name: string;
  /** Usage lines, indented under the command name in `seam help`. */
  readonly usage: string;
  /** Runs the command; resolves to the process exit code. Bad arguments throw `CliUsageError`. */
  run(args: readonly string[], io: CliIo): Promise<number>;
}

/** Bad arguments: `seam` prints the message and the usage, and exits with 2. */
export class CliUsageError extends Error {
  override readonly name = 'CliUsageError';
}

/** Parses a positive number option, or returns the fallback when absent. */
export function positiveOption(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new CliUsageError(`--${name} must be a positive number, got ${value}`);
  return n;
}
