import process from 'node:process';

/**
 * While any isolated plugin process is alive, the host holds a `SIGUSR1` listener.
 *
 * Why: with no listener, Node answers `SIGUSR1` by opening its inspector on 127.0.0.1:9229,
 * and any local process can then run code in the host through it. A plugin process runs as
 * the host's user, so it may signal the host — and the inspector would hand an untrusted
 * plugin the host itself, permission model or not. A listener keeps Node from opening it.
 * The first `SIGUSR1` the guard takes is reported once as a process warning (code
 * `PLUGIN_SEAM_SIGUSR1`). An application that wants the inspector opens it with `--inspect`
 * or `inspector.open()`; one that handles `SIGUSR1` itself keeps its own listener, which
 * already keeps the inspector closed.
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
  if (holders === 1) process.on('SIGUSR1', onSignal);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    holders -= 1;
    if (holders === 0) process.off('SIGUSR1', onSignal);
  };
}

let holders = 0;
let warned = false;

function onSignal(): void {
  if (warned) return;
  warned = true;
  process.emitWarning('SIGUSR1 ignored while isolated plugins run: it would open the inspector to any local process (use --inspect or inspector.open())', {
    code: 'PLUGIN_SEAM_SIGUSR1',
  });
}
