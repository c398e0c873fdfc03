import { parseArgs } from 'node:util';
import { InvalidOptions, InvalidPlugin } from '../../errors.js';
import type { Mode } from '../../machines/lifecycleTypes.js';
import type { CheckProgress } from '../../testing/CheckOptions.js';
import { checkPlugin } from '../../testing/checkPlugin.js';
import { formatCheckReport } from '../../testing/formatCheckReport.js';
import { CliUsageError, type CliCommand } from './CliCommand.js';

const MODES: readonly Mode[] = ['inline', 'embedded', 'isolated'];

function parseModes(value: string | undefined): readonly Mode[] | undefined {
  if (value === undefined) return undefined;
  const modes = value.split(',').map((m) => m.trim());
  for (const mode of modes) {
    if (!(MODES as readonly string[]).includes(mode)) {
      throw new CliUsageError(`--modes: unknown mode "${mode}" (expected a comma-separated list of ${MODES.join(', ')})`);
    }
  }
  return modes as Mode[];
}

function parseConfig(value: string | undefined): { config?: unknown } {
  if (value === undefined) return {};
  try {
    return { config: JSON.parse(value) as unknown };
  } catch (error) {
    throw new CliUsageError(`--config must be JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** How long a run goes unreported: most checks end well within it, and say nothing until the report. */
const QUIET_MS = 1_000;

/**
 * Progress on stderr (stdout keeps the report alone) for the runs that take a while — a run
 * waiting out a plugin's start deadline, say — and their ends: nothing for a quick check.
 */
function slowRunReporter(err: (text: string) => void): (event: CheckProgress) => void {
  const pending = new Map<string, { timer: ReturnType<typeof setTimeout> | undefined }>();
  return (event) => {
    const key = `${event.mode}.${event.run}`;
    if (event.phase === 'begin') {
      const entry: { timer: ReturnType<typeof setTimeout> | undefined } = { timer: undefined };
      entry.timer = setTimeout(() => {
        entry.timer = undefined;
        err(`seam check: ${event.mode}: ${event.text}…\n`);
      }, QUIET_MS);
      // A report is not held back for a line about a run that is over.
      entry.timer.unref();
      pending.set(key, entry);
      return;
    }
    const entry = pending.get(key);
    pending.delete(key);
    if (entry === undefined) return;
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    else err(`seam check: ${event.mode}: ${event.run} run ${event.text}\n`);
  };
}

/**
 * `seam check`: the conformance kit of `plugin-seam/testing` against one plugin module.
 * Exit 0 when every check passes in every mode, 1 when the plugin fails a check or behaves
 * differently depending on its mode, 2 on a usage error (no module, an unreadable one, a
 * module that is not a plugin, bad options).
 */
export const checkCommand: CliCommand = {
  name: 'check',
  usage: `check <plugin-module> [--modes inline,embedded,isolated] [--config <json>] [--json]
    run the conformance kit against a plugin module (JavaScript) in each mode; exit 1 if it
    fails a check or behaves differently depending on its mode`,
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args: [...args],
      options: {
        modes: { type: 'string' },
        config: { type: 'string' },
        json: { type: 'boolean', default: false },
      },
      allowPositionals: true,
      strict: true,
    });
    const [module, ...extra] = positionals;
    if (module === undefined) throw new CliUsageError('missing <plugin-module>');
    if (extra.length > 0) throw new CliUsageError(`one plugin module at a time, got also: ${extra.join(' ')}`);
    const modes = parseModes(values.modes);
    let report;
    try {
      report = await checkPlugin(module, {
        ...(modes === undefined ? {} : { modes }),
        ...parseConfig(values.config),
        progress: slowRunReporter(io.err),
      });
    } catch (error) {
      if (error instanceof InvalidOptions) throw new CliUsageError(error.message);
      if (!(error instanceof InvalidPlugin)) throw error;
      io.err(`seam check: ${error.message}\n`);
      return 2;
    }
    io.out(values.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatCheckReport(report)}\n`);
    return report.passed ? 0 : 1;
  },
};
