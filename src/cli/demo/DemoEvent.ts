import type { Failure } from '../../machines/lifecycleTypes.js';

/**
 * A lifecycle event of one instance, as the demo reports it (a line under the dashboard,
 * a line of the plain output, an entry of the HTML report). `atS` counts seconds since the
 * video started.
 */
export type DemoEvent =
  /** The instance's generation failed; `restartInMs` when a restart is scheduled. */
  | {
      readonly kind: 'failure';
      readonly atS: number;
      readonly id: string;
      readonly failure: Failure;
      readonly restartInMs: number | undefined;
      readonly exhausted: boolean;
    }
  /** A new generation is up after a failure. */
  | { readonly kind: 'restart'; readonly atS: number; readonly id: string; readonly generation: number; readonly restarts: number }
  /** The first frame done by a generation that replaced a failed one. */
  | {
      readonly kind: 'recovered';
      readonly atS: number;
      readonly id: string;
      readonly generation: number;
      /** From the failure to this first done frame. */
      readonly afterMs: number;
      /** Frames lost so far. */
      readonly lost: number;
    }
  /** A log line of the plugin. */
  | { readonly kind: 'log'; readonly atS: number; readonly id: string; readonly level: string; readonly message: string };
