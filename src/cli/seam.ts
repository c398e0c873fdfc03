#!/usr/bin/env node
import { benchCommand } from './commands/benchCommand.js';
import { checkCommand } from './commands/checkCommand.js';
import { CliUsageError, type CliCommand, type CliIo } from './commands/CliCommand.js';
import { demoCommand } from './commands/demoCommand.js';

const COMMANDS: readonly CliCommand[] = [demoCommand, checkCommand, benchCommand];

const USAGE = `usage: seam <command> [options]

commands:
${COMMANDS.map((c) => `  ${c.usage.replaceAll('\n', '\n  ')}`).join('\n')}
  help
      print this text`;

// parseArgs reports bad flags with its own error codes: those are usage errors too.
function isUsageError(error: unknown): boolean {
  if (error instanceof CliUsageError) return true;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS');
}

async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    io.out(`${USAGE}\n`);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    io.err(`seam: unknown command "${name}"\n${USAGE}\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(`usage: seam ${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (!isUsageError(error)) throw error;
    io.err(`seam ${name}: ${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
}

// The command's own output is this process's stdout, and nothing else is: what a plugin
// prints (inline, in this process; embedded, a worker whose stdout Node pipes into this
// process's) goes to stderr, so that `--json` output stays JSON.
const writeStdout = process.stdout.write.bind(process.stdout);
process.stdout.write = process.stderr.write.bind(process.stderr);

const io: CliIo = {
  out: (text) => writeStdout(text),
  err: (text) => process.stderr.write(text),
  isTTY: process.stdout.isTTY,
};

// A plugin run inline shares this process: its `process.exit(0)` must not pass for a command
// that succeeded, nor its uncaught error end the command with a bare stack trace.
let finished = false;
process.on('exit', (code) => {
  if (finished || code !== 0) return;
  process.stderr.write('seam: the process ended with code 0 before the command finished (a plugin run inline calling process.exit(0)?)\n');
  process.exitCode = 1;
});
// `seam demo | head` closes the pipe early: end quietly (the plugin processes go with this
// one), not with an uncaught EPIPE. A check's or a bench's report is a verdict not yet given:
// 141, as a process SIGPIPE ends reads to a shell — 0 would pass a failing `seam check … |
// head` under `pipefail`. The demo's output (and a usage text) is a view: the reader has what
// it wanted, 0.
const PIPE_CLOSED_EXIT = 128 + 13;
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  finished = true;
  process.exit(process.argv[2] === 'check' || process.argv[2] === 'bench' ? PIPE_CLOSED_EXIT : 0);
});
process.on('uncaughtException', (error) => {
  // The stack says whose it is: a plugin run inline shares this process.
  process.stderr.write(`seam: uncaught ${error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error)}\n`);
  process.exit(1);
});

// A plugin run inline (seam check, seam bench) may leave a timer or a socket behind: the
// command's work is done, so give stray handles a moment and then exit rather than hang.
// Unref'd, the timer never keeps a process alive that would end by itself.
const STRAY_HANDLE_GRACE_MS = 2_000;

main(process.argv.slice(2), io).then(
  (code) => {
    finished = true;
    process.exitCode = code;
    setTimeout(() => {
      process.exit(code);
    }, STRAY_HANDLE_GRACE_MS).unref();
  },
  (error: unknown) => {
    finished = true;
    process.stderr.write(`seam: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
