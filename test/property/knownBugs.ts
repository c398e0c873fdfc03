// Bugs in the runtime (src/) that these tests found and that are not fixed yet. A check a
// known bug breaks is switched off here, never deleted: the kept reproduction in
// regressions.ts must fail with the bug's signature, and stops doing so the day the bug is
// fixed — that is the moment to set its flag to false.

/** Flags of known, unfixed runtime bugs (true: still there). */
export const KNOWN_BUGS = {
  /**
   * Frame slots leak when a worker or child dies by itself (exit, crash, SIGKILL) while it
   * holds frames: the adapter's exit handler reclaims the generation's quarantined slots
   * before reporting the loss, and the runtime quarantines those frames' slots only
   * afterwards (when it settles them as lost), so they are never released. `acquire()`
   * then waits forever once every slot has leaked. Out-of-thread modes only. Fixed: the
   * pool releases a discard for an already reclaimed generation at once.
   */
  slotLeakOnSelfExit: false,
} as const;

/** What the model reports when a known bug strikes: its reproduction must fail with this. */
export const KNOWN_BUG_SIGNATURES: Readonly<Record<keyof typeof KNOWN_BUGS, RegExp>> = {
  slotLeakOnSelfExit: /frame pool leaked: \d+ of \d+ slots/,
};
