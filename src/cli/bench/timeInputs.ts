/** One input handed to the plugin; settles when the plugin has handled it. */
export type InputOp = () => Promise<unknown>;

/** One timed slice of round trips. */
export interface RoundTripSlice {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly meanMs: number;
  readonly samples: number;
}

/** One timed slice of pipelined inputs. */
export interface PipelineSlice {
  readonly inputs: number;
  readonly seconds: number;
  readonly perSecond: number;
}

/**
 * Round trips, one input in flight, for about `ms` (at least one input): each is timed
 * from submission to settlement. Rejects with the first input's error.
 */
export async function timeRoundTrips(op: InputOp, ms: number): Promise<RoundTripSlice> {
  const samples: number[] = [];
  const end = performance.now() + ms;
  do {
    const t0 = performance.now();
    await op();
    samples.push(performance.now() - t0);
  } while (performance.now() < end);
  samples.sort((a, b) => a - b);
  return {
    p50Ms: percentile(samples, 0.5),
    p99Ms: percentile(samples, 0.99),
    meanMs: samples.reduce((sum, s) => sum + s, 0) / samples.length,
    samples: samples.length,
  };
}

/**
 * Keeps `inFlight` inputs outstanding for about `ms` (each settlement submits the next; every
 * lane submits at least one), then waits for all to settle. The rate is settled inputs over
 * the time from the first submission to the last settlement. The first failure stops every
 * lane and rejects, once every input submitted has settled (none is left behind).
 */
export async function timePipelined(op: InputOp, inFlight: number, ms: number): Promise<PipelineSlice> {
  const t0 = performance.now();
  const end = t0 + ms;
  let last = t0;
  let inputs = 0;
  let failure: { readonly error: unknown } | undefined;
  const lane = async (): Promise<void> => {
    do {
      try {
        await op();
      } catch (error) {
        failure ??= { error };
        return;
      }
      inputs += 1;
      last = performance.now();
    } while (last < end && failure === undefined);
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  if (failure !== undefined) throw failure.error;
  const seconds = (last - t0) / 1_000;
  return { inputs, seconds, perSecond: seconds > 0 ? inputs / seconds : 0 };
}

/** The `p` quantile (0..1) of ascending `sorted` samples, nearest rank; 0 when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(sorted.length * p) - 1))] ?? 0;
}

/** The median of `values` (the mean of the middle two for an even count); 0 when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}
