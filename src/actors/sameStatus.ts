import type { Failure } from '../machines/lifecycleTypes.js';
import type { LedgerCounters, PluginStatus } from './instanceTypes.js';

/** Every counter of the ledger: a record lists each key once, so none can be left out. */
const COUNTER_KEYS = Object.keys({
  accepted: true,
  done: true,
  failed: true,
  dropped: true,
  lost: true,
  queued: true,
  inFlight: true,
  refused: true,
  outputs: true,
  stale: true,
} satisfies Record<keyof LedgerCounters, true>) as readonly (keyof LedgerCounters)[];

/**
 * Whether two statuses say the same, field by field (a status is published per burst of
 * inputs: no serialisation), `id` and `mode` aside (one instance's never change).
 *
 * @example
 * ```ts
 * if (!sameStatus(next, last)) subscriber.next(next);
 * ```
 */
export function sameStatus(a: PluginStatus, b: PluginStatus): boolean {
  return (
    a.state === b.state &&
    a.generation === b.generation &&
    a.restarts === b.restarts &&
    a.transport === b.transport &&
    sameFailure(a.failure, b.failure) &&
    sameFailure(a.lastFailure, b.lastFailure) &&
    a.restart?.scheduled === b.restart?.scheduled &&
    a.restart?.delayMs === b.restart?.delayMs &&
    a.restart?.exhausted === b.restart?.exhausted &&
    (a.lingering?.length ?? 0) === (b.lingering?.length ?? 0) &&
    sameCounters(a.counters, b.counters)
  );
}

function sameFailure(a: Failure | undefined, b: Failure | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.class === b.class && a.cause === b.cause && a.generation === b.generation && a.detail === b.detail && a.exitCode === b.exitCode && a.signal === b.signal;
}

function sameCounters(a: LedgerCounters, b: LedgerCounters): boolean {
  for (const key of COUNTER_KEYS) if (a[key] !== b[key]) return false;
  return true;
}
