import type { Mode } from '../../machines/lifecycleTypes.js';
import type { ModeComparison, ModeMeasured, ModeResult, Recommendation } from './BenchReport.js';

/** The most a mode may cost a plugin (see {@link recommendMode}) and still be recommended. */
export const MAX_COST = 0.1;

/** Safest first: a crash in a child process cannot reach the host; in a worker it shares the process. */
const BY_SAFETY: readonly Mode[] = ['isolated', 'embedded', 'inline'];

/** The rule of {@link recommendMode}, as `seam bench` prints it last. */
export function benchRule(rounds: number): string {
  return (
    `rule: the safest mode (isolated, then embedded, then inline) that costs this plugin at most ${percent(MAX_COST)}, ` +
    `its cost being the larger of its extra p50 round trip relative to inline's and the inline throughput it loses; ` +
    `medians of ${rounds} interleaved round${rounds === 1 ? '' : 's'} on this machine.`
  );
}

/**
 * Compares every measured mode with the baseline: inline when it was measured (inline's
 * round trip is, to within microseconds, the plugin's own cost per input — plus, for frames,
 * the one copy of the application's buffer that every mode makes), else the least isolated
 * mode measured (embedded before isolated), never the order `--modes` gave.
 */
export function compareModes(results: readonly ModeResult[]): { readonly baseline: Mode | undefined; readonly comparisons: readonly ModeComparison[] } {
  const measured = results.filter((r): r is ModeMeasured => r.ok);
  // The least isolated mode measured, whatever order --modes gave: a baseline more isolated
  // than a mode it is compared with would make that mode look free.
  const base = [...BY_SAFETY].reverse().map((mode) => measured.find((r) => r.mode === mode)).find((r) => r !== undefined);
  if (base === undefined) return { baseline: undefined, comparisons: [] };
  const comparisons = measured.map((r): ModeComparison => {
    const p50Ratio = ratio(r.roundTrip.p50Ms, base.roundTrip.p50Ms);
    const throughputRatio = ratio(r.throughput.perSecond, base.throughput.perSecond);
    return {
      mode: r.mode,
      p50Ratio,
      throughputRatio,
      addedMsPerInput: r.roundTrip.p50Ms - base.roundTrip.p50Ms,
      cost: Math.max(0, p50Ratio - 1, 1 - throughputRatio),
    };
  });
  return { baseline: base.mode, comparisons };
}

/**
 * The mode advice of `seam bench`, in plain words.
 *
 * The rule: recommend the safest mode — isolated, then embedded, then inline — whose cost
 * for this plugin is at most 10 %. A mode's cost is the larger of two fractions, both
 * against inline (the plugin's own cost): the extra p50 round trip relative to inline's p50,
 * and the inline throughput lost with 64 inputs in flight. A plugin that works 2 ms per
 * input barely notices the ~0.1 ms a process boundary adds, so it is isolated for free; an
 * echo that answers in microseconds pays many times its own cost for the same boundary, so
 * it is better inline (or isolated anyway, knowingly, when it is not trusted).
 *
 * What it does not weigh: trust (only you know whether the plugin's code is yours), memory,
 * start-up time (reported apart), or that an inline plugin works on the host's own event
 * loop. It measures this machine, now; run it where the plugin will run.
 *
 * @example
 * ```ts
 * const { baseline, comparisons } = compareModes(results);
 * const advice = recommendMode(comparisons, baseline, results);
 * console.log(`${advice.finding}\nrecommendation: ${advice.advice}`);
 * ```
 */
export function recommendMode(comparisons: readonly ModeComparison[], baseline: Mode | undefined, results: readonly ModeResult[]): Recommendation {
  const base = results.find((r): r is ModeMeasured => r.ok && r.mode === baseline);
  if (base === undefined) return { mode: undefined, finding: 'no mode could be measured.', advice: 'none: fix the failures above first' };
  if (comparisons.length < 2) {
    return { mode: baseline, finding: `only ${base.mode} was measured: nothing to compare it with.`, advice: 'none: measure at least two modes' };
  }
  const of = (mode: Mode): ModeComparison | undefined => comparisons.find((c) => c.mode === mode);
  const own = base.roundTrip.p50Ms;
  const ownWords = base.mode === 'inline' ? `this plugin's own ${ms(own)} ms` : `the ${base.mode} round trip (${ms(own)} ms)`;
  // The finding is about the most isolated mode measured: that is the price in question.
  const farthest = BY_SAFETY.map(of).find((c): c is ModeComparison => c !== undefined && c.mode !== base.mode);
  const finding =
    farthest === undefined
      ? ''
      : `${farthest.mode} ${farthest.addedMsPerInput >= 0 ? 'adds' : 'saves'} ${ms(Math.abs(farthest.addedMsPerInput))} ms per input = ` +
        `${share(Math.abs(farthest.addedMsPerInput) / own)} ${ownWords}, and ${throughputWords(farthest.throughputRatio, base.mode)}.`;

  const chosen = BY_SAFETY.map(of).find((c): c is ModeComparison => c !== undefined && c.cost <= MAX_COST);
  const isolated = of('isolated');
  const embedded = of('embedded');
  const costOf = (c: ModeComparison | undefined): string => (c === undefined ? '' : costWords(c));
  switch (chosen?.mode) {
    case 'isolated':
      return {
        mode: 'isolated',
        finding,
        advice: `isolate it: the process boundary costs this plugin only ${percent(chosen.cost)}, and a crash, a leak or a hostile plugin cannot take the host down.`,
      };
    case 'embedded':
      return {
        mode: 'embedded',
        finding,
        advice:
          `embed it if you trust it: embedded costs it ${percent(chosen.cost)}` +
          (isolated === undefined ? '.' : `, while ${costOf(isolated)}; isolate it if it is untrusted and that price is acceptable.`),
      };
    default: {
      const outside = [embedded, isolated].filter((c): c is ModeComparison => c !== undefined && c.mode !== base.mode);
      return {
        mode: base.mode,
        finding,
        advice:
          `run it ${base.mode} if you trust it: ${outside.map(costOf).join(' and ')} for this plugin. ` +
          `Isolate it anyway if it is untrusted: that is the price of keeping its crashes out of the host.`,
      };
    }
  }
}

/** What a mode costs, by its larger part: "isolated adds 28% to each round trip", "embedded loses 71% of the throughput". */
function costWords(c: ModeComparison): string {
  const latency = c.p50Ratio - 1;
  const loss = 1 - c.throughputRatio;
  if (loss > latency) return `${c.mode} loses ${percent(loss)} of the throughput`;
  return c.p50Ratio >= 2 ? `${c.mode} makes each round trip ${c.p50Ratio.toFixed(0)}× as long` : `${c.mode} adds ${percent(latency)} to each round trip`;
}

/** "28% of" below 10×, "54×" from there (a percentage in the thousands reads as noise). */
function share(fraction: number): string {
  return fraction < 10 ? `${percent(fraction)} of` : `${fraction.toFixed(0)}×`;
}

function throughputWords(throughputRatio: number, base: Mode): string {
  if (throughputRatio >= 1) return `keeps all of ${base}'s throughput (${throughputRatio.toFixed(2)}×)`;
  return `costs ${percent(1 - throughputRatio)} of ${base}'s throughput`;
}

function ratio(value: number, base: number): number {
  return base > 0 ? value / base : 0;
}

/** Milliseconds with about three significant digits. */
export function ms(value: number): string {
  if (value >= 100) return value.toFixed(0);
  if (value >= 10) return value.toFixed(1);
  if (value >= 1) return value.toFixed(2);
  if (value >= 0.01) return value.toFixed(3);
  return value.toFixed(4);
}

/** A fraction as a percentage: one decimal below 10 %. */
export function percent(fraction: number): string {
  const p = fraction * 100;
  return `${p < 10 ? p.toFixed(1) : p.toFixed(0)}%`;
}
