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
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (!isUsageError(error)) throw error;
    io.err(`seam ${name}: ${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
}

const io: CliIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  isTTY: process.stdout.isTTY,
};

// A plugin run inline (seam check, seam bench) may leave a timer or a socket behind: the
// command's work is done, so give stray handles a moment and then exit rather than hang.
// Unref'd, the timer never keeps a process alive that would end by itself.
const STRAY_HANDLE_GRACE_MS = 2_000;

main(process.argv.slice(2), io).then(
  (code) => {
    process.exitCode = code;
    setTimeout(() => {
      process.exit(code);
    }, STRAY_HANDLE_GRACE_MS).unref();
  },
  (error: unknown) => {
    process.stderr.write(`seam: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
