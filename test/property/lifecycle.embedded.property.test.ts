// Model-based lifecycle property, embedded mode, against the real runtime on a simulated
// clock: random sequences of start / run / pause / stop / messages / frames / clock ticks,
// plus faults — crashes at chosen points (uncaught async error, process.exit, SIGKILL),
// freezes (a blocked worker, a SIGSTOPped process: no heartbeat), stops that hang or throw,
// output emitted late (after its input settled, after its generation ended), floods.
//
// After every command (ModelSystem.check, LifecycleObserver, CallTracker): only legal
// transitions, one launch per generation after the previous one ended; one classification
// per failed generation, of the class its phase implies; no output of a generation outside
// its life, and in emission order; the ledger balances; nothing in flight outside a live
// generation, nothing queued once stopped or terminally failed; every call settled by its
// deadline (inputs from the moment they began, control calls from the moment they were
// made); restarts within the configured intensity, and none refused while budget was left;
// a frozen generation ended once its deadline passed; a SIGKILL detected within 3 s; the
// host's event loop never stalled. At the end: everything settles, the ledger equals what
// the application saw, the frame pool is whole again, and no plugin process survives
// shutdown.
//
// One file per mode (CI runs them side by side). Runs: SEAM_PROPERTY_RUNS, else the
// default below (`npm run test:deep` runs 1000).
import { describeLifecycleProperty } from './describeLifecycleProperty.js';

describeLifecycleProperty('embedded', 40);
