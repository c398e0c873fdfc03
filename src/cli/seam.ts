#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { runDemo } from './runDemo.js';

const USAGE = `usage: seam <command> [options]

commands:
  demo [--duration <s>] [--fps <n>] [--width <px>] [--height <px>]
      run two plugins behind one contract on synthetic video and print what they report
  help
      print this text`;

function positive(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got ${value}`);
  return n;
}

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return command === undefined ? 2 : 0;
  }
  if (command === 'demo') {
    const { values } = parseArgs({
      args: [...rest],
      options: {
        duration: { type: 'string' },
        fps: { type: 'string' },
        width: { type: 'string' },
        height: { type: 'string' },
      },
      strict: true,
    });
    await runDemo({
      durationS: positive('duration', values.duration, 5),
      fps: Math.round(positive('fps', values.fps, 30)),
      width: Math.round(positive('width', values.width, 640)),
      height: Math.round(positive('height', values.height, 360)),
      write: (line) => process.stdout.write(`${line}\n`),
    });
    return 0;
  }
  process.stderr.write(`seam: unknown command "${command}"\n${USAGE}\n`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`seam: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
