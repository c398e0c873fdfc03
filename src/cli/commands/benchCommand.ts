import { parseArgs } from 'node:util';
import type { Mode } from '../../machines/lifecycleTypes.js';
import type { BenchInput } from '../bench/BenchReport.js';
import { formatBenchReport } from '../bench/formatBenchReport.js';
import { BenchTargetError, resolveBenchTarget, type BenchTarget } from '../bench/resolveBenchTarget.js';
import { runBench } from '../bench/runBench.js';
import { CliUsageError, positiveOption, type CliCommand } from './CliCommand.js';

const MODES: readonly Mode[] = ['inline', 'embedded', 'isolated'];

/** Bytes per pixel of the frame formats `--format` knows (the runtime itself treats `format` as a label). */
const BYTES_PER_PIXEL: Readonly<Record<string, number>> = {
  gray: 1,
  gray16: 2,
  rgb: 3,
  bgr: 3,
  rgba: 4,
  bgra: 4,
  i420: 1.5,
  nv12: 1.5,
  yuv420: 1.5,
};

/**
 * `seam bench <plugin-module>`: the mode advisor. Measures this plugin's cost per input and
 * its throughput in inline, embedded and isolated mode on this machine, prints a table with
 * ratios to inline, and recommends a mode in plain words (the rule is printed last; see
 * `recommendMode`). Exit code: 0 when every mode was measured, 1 when a mode failed (the
 * others are still reported), 2 for bad arguments or a module that is missing or not a plugin.
 *
 * @example
 * ```sh
 * seam bench ./my-plugin.js --duration 2
 * seam bench ./my-plugin.js --input frame --size 1920x1080 --format rgba --json
 * ```
 */
export const benchCommand: CliCommand = {
  name: 'bench',
  usage: `bench <plugin-module> [--input message|frame] [--message <json>] [--size <W>x<H>] [--format <f>]
        [--config <json>] [--modes inline,embedded,isolated] [--duration <s>] [--json]
    measure the plugin's cost per input in each mode on this machine and advise where to run
    it; input: frames if it has onFrame, else messages; --duration: timed seconds per mode and
    measure (default 2); also --rounds <n> (default 5), --in-flight <n> (default 64),
    --input-timeout <s> (default 30: a mode whose plugin holds one input longer fails)`,
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args: [...args],
      options: {
        input: { type: 'string' },
        message: { type: 'string' },
        size: { type: 'string' },
        format: { type: 'string' },
        config: { type: 'string' },
        modes: { type: 'string' },
        duration: { type: 'string' },
        rounds: { type: 'string' },
        'in-flight': { type: 'string' },
        'input-timeout': { type: 'string' },
        json: { type: 'boolean' },
      },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length !== 1 || positionals[0] === undefined) {
      throw new CliUsageError(positionals.length === 0 ? 'name the plugin module to measure' : `one plugin module at a time, got ${positionals.length}`);
    }
    if (values.input !== undefined && values.input !== 'message' && values.input !== 'frame') {
      throw new CliUsageError(`--input must be message or frame, got ${values.input}`);
    }
    const modes = parseModes(values.modes);
    const durationS = positiveOption('duration', values.duration, 2);
    const rounds = integerOption('rounds', values.rounds, 5);
    const inFlight = integerOption('in-flight', values['in-flight'], 64);
    const inputTimeoutS = positiveOption('input-timeout', values['input-timeout'], 30);
    // What a timer can hold (see LoadOptions' timeouts): a longer one would fire at once.
    if (inputTimeoutS * 1_000 > 2 ** 31 - 1) throw new CliUsageError(`--input-timeout must be at most ${Math.floor((2 ** 31 - 1) / 1_000)} s, got ${inputTimeoutS}`);
    const config = values.config === undefined ? undefined : parseJson('config', values.config);

    let target: BenchTarget;
    try {
      target = await resolveBenchTarget(positionals[0], process.cwd());
    } catch (error) {
      if (!(error instanceof BenchTargetError)) throw error;
      io.err(`seam bench: ${error.message}\n`);
      return 2;
    }
    const input = chooseInput(target, values);

    if (!values.json) io.err(`seam bench: measuring ${target.name} in ${modes.join(', ')} (about ${Math.ceil(modes.length * 2.3 * durationS)} s)…\n`);
    const report = await runBench({
      target,
      modes,
      input,
      config,
      durationS,
      rounds,
      inFlight,
      inputTimeoutS,
      progress: (line) => {
        if (line.includes('failed')) io.err(`seam bench: ${line}\n`);
      },
    });
    if (values.json) io.out(`${JSON.stringify(report, null, 2)}\n`);
    else io.out(`${formatBenchReport(report).join('\n')}\n`);
    return report.results.every((r) => r.ok) ? 0 : 1;
  },
};

function chooseInput(
  target: BenchTarget,
  values: { readonly input?: string | undefined; readonly message?: string | undefined; readonly size?: string | undefined; readonly format?: string | undefined },
): BenchInput {
  const kind = values.input ?? (target.hasOnFrame ? 'frame' : 'message');
  if (kind === 'frame') {
    if (!target.hasOnFrame) throw new CliUsageError(`plugin "${target.name}" has no onFrame: bench it with --input message`);
    if (values.message !== undefined) throw new CliUsageError('--message applies to --input message');
    const [width, height] = parseSize(values.size ?? '640x360');
    const format = values.format ?? 'gray';
    const bytesPerPixel = BYTES_PER_PIXEL[format];
    if (bytesPerPixel === undefined) throw new CliUsageError(`--format must be one of ${Object.keys(BYTES_PER_PIXEL).join(', ')}; got ${format}`);
    return { kind: 'frame', width, height, format, byteLength: Math.ceil(width * height * bytesPerPixel) };
  }
  if (!target.hasOnMessage) throw new CliUsageError(`plugin "${target.name}" has no onMessage${target.hasOnFrame ? ': bench it with --input frame' : ' and no onFrame: nothing to measure'}`);
  if (values.size !== undefined || values.format !== undefined) throw new CliUsageError('--size and --format apply to --input frame');
  return { kind: 'message', message: values.message === undefined ? {} : parseJson('message', values.message) };
}

function parseModes(value: string | undefined): Mode[] {
  if (value === undefined) return [...MODES];
  const modes = value.split(',').map((m) => m.trim());
  for (const mode of modes) {
    if (!MODES.includes(mode as Mode)) throw new CliUsageError(`--modes takes a comma-separated list of ${MODES.join(', ')}; got "${mode}"`);
  }
  if (new Set(modes).size !== modes.length) throw new CliUsageError(`--modes names a mode twice: ${value}`);
  return modes as Mode[];
}

function parseSize(value: string): [number, number] {
  const match = /^(\d+)x(\d+)$/.exec(value);
  const width = Number(match?.[1]);
  const height = Number(match?.[2]);
  if (match === null || width < 1 || height < 1 || width * height > 16_384 * 16_384) {
    throw new CliUsageError(`--size must be <width>x<height> in pixels, e.g. 1920x1080; got ${value}`);
  }
  return [width, height];
}

function parseJson(name: string, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new CliUsageError(`--${name} must be JSON: ${(error as Error).message}`);
  }
}

function integerOption(name: string, value: string | undefined, fallback: number): number {
  const n = positiveOption(name, value, fallback);
  if (!Number.isInteger(n)) throw new CliUsageError(`--${name} must be a positive integer, got ${value ?? ''}`);
  return n;
}
