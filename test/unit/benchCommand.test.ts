// `seam bench <plugin-module>`, the mode advisor, run as a user runs it: the built command
// line in a process of its own, on fixture plugins, with a tiny time budget. Timings are
// never asserted (the machine is shared); the shape of the report and the exit codes are.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { benchCommand } from '../../dist/cli/commands/benchCommand.js';
import { CliUsageError } from '../../dist/cli/commands/CliCommand.js';
import type { BenchReport, ModeMeasured, ModeResult } from '../../dist/cli/bench/BenchReport.js';
import { compareModes, recommendMode } from '../../dist/cli/bench/recommendMode.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const seam = fileURLToPath(new URL('../../dist/cli/seam.js', import.meta.url));
const plugin = (name: string): string => `test/fixtures/plugins/${name}.mjs`;

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `seam bench …` from the package root (so relative module paths resolve there). */
function bench(...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [seam, 'bench', ...args], { cwd: root, timeout: 15_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : (error as { code?: unknown }).code;
      if (typeof code !== 'number') {
        reject(error ?? new Error('no exit code'));
        return;
      }
      resolve({ code, stdout, stderr });
    });
  });
}

/** What `seam` reports as a usage error (exit code 2): ours, or parseArgs' own. */
function isUsageError(error: unknown): boolean {
  return error instanceof CliUsageError || String((error as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS');
}

const MODE_ROW = (mode: string): RegExp => new RegExp(`^${mode}\\s+(direct|shared-memory|copy)\\s+(\\d+(\\.\\d+)?\\s+){4}\\d+(\\.\\d+)?×\\s+\\d+(\\.\\d+)?×$`, 'm');

describe('seam bench', () => {
  it('measures every mode and prints a table, a recommendation and its rule', async () => {
    const run = await bench(plugin('bench-cheap'), '--duration', '0.3');
    expect(run.stderr).not.toContain('failed');
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`seam bench: bench-cheap (${plugin('bench-cheap')})`);
    // It has onFrame: frames by default.
    expect(lines[1]).toMatch(/^input: frames 640x360 gray \(230400 bytes\); 5 interleaved rounds/);
    expect(run.stdout).toMatch(/^mode\s+transport\s+start ms\s+p50 ms\s+p99 ms\s+inputs\/s\s+p50 ×inline\s+inputs\/s ×inline$/m);
    for (const mode of ['inline', 'embedded', 'isolated']) expect(run.stdout).toMatch(MODE_ROW(mode));
    expect(run.stdout).toMatch(/^inline\s+direct\s.*\s1\.00×\s+1\.00×$/m);
    expect(run.stdout).toMatch(/^isolated (adds|saves) \d+(\.\d+)? ms per input = /m);
    expect(run.stdout).toMatch(/^recommendation: (isolate it|embed it if you trust it|run it inline if you trust it): /m);
    expect(lines.at(-1)).toMatch(/^rule: the safest mode \(isolated, then embedded, then inline\) that costs this plugin at most 10%/);
  });

  it('--json prints the whole report: medians per mode, ratios to inline, the recommendation', async () => {
    const run = await bench(plugin('bench-costly'), '--input', 'message', '--message', '{"n":1}', '--config', '{"bytes":65536}', '--duration', '0.3', '--json');
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as BenchReport;
    expect(report).toMatchObject({
      plugin: { name: 'bench-costly', module: plugin('bench-costly') },
      input: { kind: 'message', message: { n: 1 } },
      durationS: 0.3,
      rounds: 5,
      inFlight: 64,
      baseline: 'inline',
    });
    expect(report.results.map((r) => [r.mode, r.ok])).toEqual([
      ['inline', true],
      ['embedded', true],
      ['isolated', true],
    ]);
    for (const r of report.results as ModeMeasured[]) {
      expect(r.startMs).toBeGreaterThan(0);
      expect(r.roundTrip.p50Ms).toBeGreaterThan(0);
      expect(r.roundTrip.p99Ms).toBeGreaterThanOrEqual(r.roundTrip.p50Ms);
      expect(r.roundTrip.samples).toBeGreaterThanOrEqual(5);
      expect(r.throughput.perSecond).toBeGreaterThan(0);
      expect(r.throughput).toMatchObject({ inFlight: 64 });
    }
    expect(report.comparisons.map((c) => c.mode)).toEqual(['inline', 'embedded', 'isolated']);
    expect(report.comparisons[0]).toEqual({ mode: 'inline', p50Ratio: 1, throughputRatio: 1, addedMsPerInput: 0, cost: 0 });
    for (const c of report.comparisons) expect(c.cost).toBe(Math.max(0, c.p50Ratio - 1, 1 - c.throughputRatio));
    expect(['inline', 'embedded', 'isolated']).toContain(report.recommendation.mode);
    expect(report.recommendation.finding).toMatch(/^isolated (adds|saves) /);
    expect(report.recommendation.advice).toMatch(/^(isolate it|embed it if you trust it|run it inline if you trust it): /);
    expect(report.rule).toMatch(/^rule: /);
  });

  it('reports a mode the plugin fails in, measures the others, and exits with 1', async () => {
    // The plugin needs PATH, which an isolated plugin's empty environment does not have.
    const run = await bench(plugin('bench-needs-env'), '--modes', 'inline,isolated', '--duration', '0.3');
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(MODE_ROW('inline'));
    expect(run.stdout).toMatch(/^isolated\s+failed while starting: StartupFailed: .*PATH is not set/m);
    expect(run.stderr).toMatch(/isolated: failed \(start\)/);
    expect(run.stdout).toMatch(/^recommendation: none: measure at least two modes$/m);
    expect(run.stdout.trimEnd().split('\n').at(-1)).toMatch(/^rule: /);
  });

  it('fails a mode whose plugin holds one input longer than --input-timeout', async () => {
    // Each message takes 5 s; the default budget (30 s) would have held every mode that long.
    const run = await bench(plugin('bench-slow'), '--modes', 'inline,isolated', '--duration', '0.3', '--input-timeout', '0.2');
    expect(run.code).toBe(1);
    for (const mode of ['inline', 'isolated']) {
      expect(run.stdout).toMatch(new RegExp(`^${mode}\\s+failed while warming up: LostWhileRunning: .*\\[unresponsive\\]: input 1 did not settle within its 200 ms budget$`, 'm'));
    }
  });

  it('exits with 2, saying why, for a missing module, a module that is not a plugin, or bad arguments', async () => {
    const cases: [string[], RegExp][] = [
      [[], /seam bench: name the plugin module to measure\nusage: seam/],
      [[plugin('bad-shape')], /^seam bench: "test\/fixtures\/plugins\/bad-shape\.mjs" is not a plugin module: .*unknown property "onframe"/],
    ];
    const runs = await Promise.all(cases.map(([args]) => bench(...args)));
    runs.forEach((run, i) => {
      const [args, message] = cases[i]!;
      expect({ args, code: run.code, stdout: run.stdout }).toEqual({ args, code: 2, stdout: '' });
      expect(run.stderr, args.join(' ')).toMatch(message);
    });
  });

  // The same checks in this process (each spawned process costs a second on a busy machine):
  // `seam` turns a CliUsageError into its message, the usage and exit code 2.
  it('names each bad argument', async () => {
    const cases: [string[], RegExp][] = [
      [['missing-plugin.mjs'], /^seam bench: cannot find the plugin module "missing-plugin\.mjs"/],
      [[plugin('no-default')], /is not a plugin module: it has no default export/],
      [['src/index.ts'], /^seam bench: "src\/index\.ts" is TypeScript: Node 20 cannot import it in a worker or a child process/],
      [[plugin('bench-cheap'), '--verbose'], /Unknown option '--verbose'/],
      [[plugin('bench-cheap'), plugin('bench-costly')], /one plugin module at a time, got 2/],
      [[plugin('bench-cheap'), '--input', 'video'], /--input must be message or frame/],
      [[plugin('bench-cheap'), '--modes', 'inline,remote'], /--modes takes a comma-separated list of inline, embedded, isolated; got "remote"/],
      [[plugin('bench-cheap'), '--modes', 'inline,inline'], /--modes names a mode twice/],
      [[plugin('bench-cheap'), '--size', '640by360'], /--size must be <width>x<height>/],
      [[plugin('bench-cheap'), '--format', 'jpeg'], /--format must be one of gray, /],
      [[plugin('bench-cheap'), '--message', '{}'], /--message applies to --input message/],
      [[plugin('bench-cheap'), '--input', 'message', '--message', '{oops'], /--message must be JSON/],
      [[plugin('bench-cheap'), '--input', 'message', '--size', '8x8'], /--size and --format apply to --input frame/],
      [[plugin('bench-cheap'), '--config', '[1,'], /--config must be JSON/],
      [[plugin('bench-cheap'), '--duration', '0'], /--duration must be a positive number/],
      [[plugin('bench-cheap'), '--rounds', '2.5'], /--rounds must be a positive integer/],
      [[plugin('bench-cheap'), '--input-timeout', '0'], /--input-timeout must be a positive number/],
      [[plugin('bench-cheap'), '--input-timeout', '3000000'], /--input-timeout must be at most 2147483 s, got 3000000/],
      [[plugin('bench-needs-env'), '--input', 'frame'], /plugin "bench-needs-env" has no onFrame: bench it with --input message/],
    ];
    for (const [args, message] of cases) {
      const err: string[] = [];
      const out: string[] = [];
      const outcome = await benchCommand
        .run(args, { out: (t) => out.push(t), err: (t) => err.push(t), isTTY: false })
        .then((code) => ({ code, message: err.join('') }))
        .catch((error: unknown) => ({ code: isUsageError(error) ? 2 : -1, message: (error as Error).message }));
      expect({ args, code: outcome.code, out }).toEqual({ args, code: 2, out: [] });
      expect(outcome.message, args.join(' ')).toMatch(message);
    }
  });

  // The rule itself, on made-up medians (the measured ones are the machine's business).
  describe('the rule', () => {
    const measured = (mode: ModeResult['mode'], p50Ms: number, perSecond: number): ModeResult => ({
      mode,
      ok: true,
      transport: mode === 'inline' ? 'direct' : 'shared-memory',
      startMs: 1,
      roundTrip: { p50Ms, p99Ms: p50Ms * 2, meanMs: p50Ms, samples: 100 },
      throughput: { perSecond, inFlight: 64, inputs: 1_000 },
    });
    const advise = (results: ModeResult[]) => {
      const { baseline, comparisons } = compareModes(results);
      return recommendMode(comparisons, baseline, results);
    };

    it('isolates a plugin whose own cost dwarfs the boundary', () => {
      const advice = advise([measured('inline', 2.3, 430), measured('embedded', 2.33, 428), measured('isolated', 2.35, 425)]);
      expect(advice.mode).toBe('isolated');
      expect(advice.finding).toBe("isolated adds 0.050 ms per input = 2.2% of this plugin's own 2.30 ms, and costs 1.2% of inline's throughput.");
      expect(advice.advice).toMatch(/^isolate it: the process boundary costs this plugin only 2\.2%/);
    });

    it('embeds a trusted plugin when only the thread boundary is cheap enough', () => {
      const advice = advise([measured('inline', 1, 1_000), measured('embedded', 1.05, 960), measured('isolated', 1.4, 900)]);
      expect(advice.mode).toBe('embedded');
      expect(advice.advice).toBe(
        'embed it if you trust it: embedded costs it 5.0%, while isolated adds 40% to each round trip; isolate it if it is untrusted and that price is acceptable.',
      );
    });

    it('keeps a cheap plugin inline (if trusted) and says what leaving the thread costs', () => {
      const advice = advise([measured('inline', 0.004, 250_000), measured('embedded', 0.09, 100_000), measured('isolated', 0.1, 100_000)]);
      expect(advice.mode).toBe('inline');
      expect(advice.finding).toMatch(/^isolated adds 0\.096 ms per input = 24× this plugin's own 0\.0040 ms, and costs 60% of inline's throughput\.$/);
      expect(advice.advice).toMatch(/^run it inline if you trust it: embedded makes each round trip 23× as long and isolated makes each round trip 25× as long/);
      expect(advice.advice).toMatch(/Isolate it anyway if it is untrusted/);
    });

    it('compares with the least isolated mode measured, whatever order --modes gave', () => {
      const { baseline } = compareModes([measured('isolated', 1.4, 900), measured('embedded', 1, 1_000)]);
      expect(baseline).toBe('embedded');
      // Isolated against itself would look free; against embedded it costs 40%.
      expect(advise([measured('isolated', 1.4, 900), measured('embedded', 1, 1_000)]).mode).toBe('embedded');
    });

    it('compares with the least isolated measured mode when inline failed, and gives no advice with one mode', () => {
      const failed: ModeResult = { mode: 'inline', ok: false, stage: 'start', error: 'boom' };
      const { baseline, comparisons } = compareModes([failed, measured('embedded', 1, 1_000), measured('isolated', 1.02, 990)]);
      expect(baseline).toBe('embedded');
      expect(comparisons.map((c) => c.mode)).toEqual(['embedded', 'isolated']);
      expect(advise([failed, measured('embedded', 1, 1_000), measured('isolated', 1.02, 990)]).mode).toBe('isolated');
      expect(advise([failed, measured('isolated', 1, 1_000)])).toMatchObject({ mode: 'isolated', advice: 'none: measure at least two modes' });
      expect(advise([failed])).toMatchObject({ mode: undefined });
    });
  });
});
