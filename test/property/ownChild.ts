// Signals to plugin processes by pid, safely: a pid is only signalled while /proc says it is
// a live child of this very process. The check and the signal run in one synchronous turn,
// and only this process's event loop can reap its children, so the pid cannot be reaped and
// reused by someone else in between.
import { readFileSync } from 'node:fs';

/** `state` (R, S, T, Z…) and `ppid` of a process from /proc, or undefined once it is gone. */
export function procStat(pid: number): { readonly state: string; readonly ppid: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces and parentheses: fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '?', ppid: Number(fields[1]) };
  } catch {
    return undefined;
  }
}

/** Whether `pid` is a child of this process that has not ended (not gone, not a zombie). */
export function isOwnLiveChild(pid: number): boolean {
  const stat = procStat(pid);
  return stat !== undefined && stat.ppid === process.pid && stat.state !== 'Z' && stat.state !== 'X';
}

/**
 * Sends `signal` to `pid` if it is a live child of this process; returns whether it did.
 *
 * @example
 * ```ts
 * if (signalOwnChild(pid, 'SIGSTOP')) await until(() => procStat(pid)?.state === 'T');
 * ```
 */
export function signalOwnChild(pid: number, signal: NodeJS.Signals): boolean {
  if (!isOwnLiveChild(pid)) return false;
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Whether `pid` has ended (gone, or a zombie waiting to be reaped). */
export function hasEnded(pid: number): boolean {
  const stat = procStat(pid);
  return stat === undefined || stat.state === 'Z' || stat.state === 'X';
}
