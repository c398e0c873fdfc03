import { EmptyError, firstValueFrom, filter, timeout } from 'rxjs';
import type { PluginStatus } from '../actors/instanceTypes.js';

/** Anything with a `status$` (a `PluginInstance`). */
export interface HasStatus {
  readonly id: string;
  readonly status$: import('rxjs').Observable<PluginStatus>;
}

/**
 * Resolves with the first status (the current one included) that satisfies `predicate`;
 * rejects after `timeoutMs` of real time with the last status seen, so a test waits on a
 * handshake, never on a sleep, and never hangs — at once, saying so, if the instance is
 * unloaded first.
 *
 * @example
 * ```ts
 * await waitForStatus(p, (s) => s.state === 'failed' && s.restart?.scheduled === true);
 * ```
 */
export async function waitForStatus(
  instance: HasStatus,
  predicate: (status: PluginStatus) => boolean,
  timeoutMs = 5_000,
): Promise<PluginStatus> {
  let last: PluginStatus | undefined;
  try {
    return await firstValueFrom(
      instance.status$.pipe(
        filter((status) => {
          last = status;
          return predicate(status);
        }),
        timeout({ first: timeoutMs }),
      ),
    );
  } catch (error) {
    // The stream completed (the instance was unloaded, or its runtime shut down): no status
    // will ever come, and saying it timed out sent the reader looking for a slow plugin.
    const why = error instanceof EmptyError ? 'its status$ completed (unloaded, or its runtime shut down) before the condition was met' : `condition not met within ${timeoutMs} ms`;
    throw new Error(`waitForStatus(${instance.id}): ${why}; last status: ${JSON.stringify(last)}`, { cause: error });
  }
}
