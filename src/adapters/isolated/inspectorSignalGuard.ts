import inspector from 'node:inspector';
import process from 'node:process';

/**
 * While any isolated plugin process is alive, `SIGUSR1` does not open the host's inspector.
 *
 * Why: with no listener, Node answers `SIGUSR1` by opening its inspector on 127.0.0.1:9229,
 * and any local process can then run code in the host through it. A plugin process runs as
 * the host's user, so it may signal the host — and the inspector would hand an untrusted
 * plugin the host itself, permission model or not. A listener keeps Node from opening it.
 * Once installed it stays: removing the last listener does not give Node's handler back, it
 * leaves the signal's default action, which ends the process. So while no plugin process is
 * alive the listener does what Node would, `inspector.open()`. The first `SIGUSR1` taken while
 * one is alive is reported once as a process warning (code `PLUGIN_SEAM_SIGUSR1`). An
 * application that handles `SIGUSR1` itself keeps its own listener, and this one stays out of
 * its way.
 *
 * @returns a release function: call it once, when that plugin process has exited.
 *
 * @example
 * ```ts
 * const release = holdInspectorSignalGuard();
 * child.once('exit', release);
 * ```
 */
export function holdInspectorSignalGuard(): () => void {
  holders += 1;
  if (!installed) {
    installed = true;
    process.on('SIGUSR1', onSignal);
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    holders -= 1;
  };
}

let holders = 0;
let installed = false;
let warned = false;

function onSignal(): void {
  // The application listens too: the signal is its own business.
  if (process.listenerCount('SIGUSR1') > 1) return;
  if (holders === 0) {
    try {
      inspector.open();
    } catch {
      // Already open, or the port is taken: as Node's own handler, nothing more to do.
    }
    return;
  }
  if (warned) return;
  warned = true;
  process.emitWarning('SIGUSR1 ignored while isolated plugins run: it would open the inspector to any local process (use --inspect or inspector.open())', {
    code: 'PLUGIN_SEAM_SIGUSR1',
  });
}
