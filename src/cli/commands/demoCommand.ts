import { statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { runDemo } from '../runDemo.js';
import { cursorVisible } from '../demo/formatDashboard.js';
import { startInspectorBridge, type InspectorBridge } from '../startInspectorBridge.js';
import { CliUsageError, positiveOption, type CliCommand } from './CliCommand.js';

/** Named frame sizes of `--size`. */
const SIZES: Readonly<Record<string, readonly [number, number]>> = {
  '720p': [1280, 720],
  '1080p': [1920, 1080],
  '4k': [3840, 2160],
};

/** Frames are at least this big on each side (room for the header and a few shapes)... */
const MIN_SIDE = 32;
/** ...and at most this big (a 64 MiB gray frame; shared slots are allocated up front). */
const MAX_FRAME_BYTES = 64 * 1024 * 1024;

/** Parses `--size`: `720p`, `1080p`, `4k` or `<W>x<H>` in pixels. */
export function parseSize(value: string): { readonly width: number; readonly height: number } {
  const named = SIZES[value.toLowerCase()];
  if (named !== undefined) return { width: named[0], height: named[1] };
  const match = /^(\d+)x(\d+)$/i.exec(value);
  const width = Number(match?.[1]);
  const height = Number(match?.[2]);
  if (match === null || width < MIN_SIDE || height < MIN_SIDE || width * height > MAX_FRAME_BYTES) {
    throw new CliUsageError(
      `--size must be 720p, 1080p, 4k or <W>x<H> with each side at least ${MIN_SIDE} px and at most ${MAX_FRAME_BYTES / 1024 / 1024} MiB per frame, got ${value}`,
    );
  }
  return { width, height };
}

/**
 * Takes `--inspect`, `--inspect <port>` or `--inspect=<port>` out of the arguments
 * (`parseArgs` has no option with an optional value).
 */
export function takeInspectFlag(args: readonly string[]): { readonly rest: string[]; readonly inspect: { readonly port: number } | undefined } {
  const rest: string[] = [];
  let inspect: { port: number } | undefined;
  const port = (text: string): number => {
    const n = Number(text);
    if (!/^\d+$/.test(text) || n > 65_535) throw new CliUsageError(`--inspect port must be an integer in 0..65535 (0: any free port), got ${text}`);
    return n;
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--') {
      rest.push(...args.slice(i));
      break;
    }
    if (arg === '--inspect') {
      const next = args[i + 1];
      if (next !== undefined && /^\d+$/.test(next)) {
        inspect = { port: port(next) };
        i += 1;
      } else {
        inspect = { port: 0 };
      }
    } else if (arg.startsWith('--inspect=')) {
      inspect = { port: port(arg.slice('--inspect='.length)) };
    } else {
      rest.push(arg);
    }
  }
  return { rest, inspect };
}

/** `seam demo`: the main job of the README. */
export const demoCommand: CliCommand = {
  name: 'demo',
  usage: `demo [--duration <s>] [--fps <n>] [--size 720p|1080p|4k|<W>x<H>] [--out <dir>] [--inspect [port]]
    a video-analysis pipeline: one detector plugin embedded and isolated, a report plugin
    writing HTML into --out (default: a new temp dir); crashes the isolated detector midway
    and shows it recover on a live dashboard; Ctrl-C stops early with a summary`,
  async run(args, io) {
    const { rest, inspect } = takeInspectFlag(args);
    const { values } = parseArgs({
      args: rest,
      options: {
        duration: { type: 'string' },
        fps: { type: 'string' },
        size: { type: 'string' },
        out: { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    });
    const durationS = positiveOption('duration', values.duration, 20);
    const fps = positiveOption('fps', values.fps, 30);
    if (fps > 240) throw new CliUsageError(`--fps must be at most 240, got ${values.fps ?? ''}`);
    const { width, height } = parseSize(values.size ?? '1080p');
    if (values.out !== undefined && values.out.length === 0) throw new CliUsageError('--out must name a directory');
    // A directory, or nothing yet (it is created): a file there would fail later, as a crash.
    if (values.out !== undefined) {
      let isDirectory: boolean | undefined;
      try {
        isDirectory = statSync(values.out, { throwIfNoEntry: false })?.isDirectory();
      } catch (error) {
        // A path through a file (`/dev/null/x`: ENOTDIR), or one this user may not look into.
        throw new CliUsageError(`--out must name a directory; ${values.out}: ${error instanceof Error ? error.message : String(error)}`);
      }
      if (isDirectory === false) throw new CliUsageError(`--out must name a directory; ${values.out} exists and is not one`);
    }

    let bridge: InspectorBridge | undefined;
    if (inspect !== undefined) {
      bridge = await startInspectorBridge({ port: inspect.port });
      io.out(`inspector: open ${bridge.url}\n`);
    }
    // Ctrl-C ends the video early; the demo still drains, writes its last report and prints
    // the summary. A second Ctrl-C gets Node's default: exit at once.
    const controller = new AbortController();
    const onSigint = (): void => {
      controller.abort();
    };
    process.once('SIGINT', onSigint);
    // The dashboard hides the cursor while it redraws; a second Ctrl-C exits without its
    // cleanup, so give the terminal its cursor back on any exit.
    const showCursor = (): void => {
      if (io.isTTY) io.out(cursorVisible(true));
    };
    process.once('exit', showCursor);
    try {
      await runDemo({
        durationS,
        fps,
        width,
        height,
        ...(values.out === undefined ? {} : { outDir: values.out }),
        out: io.out,
        isTTY: io.isTTY,
        ...(io.isTTY && process.stdout.columns > 0 ? { columns: process.stdout.columns } : {}),
        signal: controller.signal,
        ...(bridge === undefined ? {} : { inspect: bridge.inspect }),
      });
    } finally {
      process.off('SIGINT', onSigint);
      process.off('exit', showCursor);
      await bridge?.close();
    }
    return 0;
  },
};
