// @ts-check
/**
 * Bench plugin for the lifecycle measurements (bench/ours/lifecycle.js):
 *   'pid'  -> its process id (the child's in isolated mode, so the bench can SIGKILL it);
 *   'hold' -> emits `holding` and settles only when its generation stops (or after 60 s):
 *             an input the generation holds when it is killed;
 *   else   -> echoed back.
 */
import process from 'node:process';
import { definePlugin } from 'plugin-seam/plugin';

const HOLD_MAX_MS = 60_000;

export default definePlugin({
  name: 'bench-lifecycle',
  onMessage(message, ctx) {
    if (message === 'pid') return process.pid;
    if (message === 'hold') {
      ctx.emit('holding', true);
      return new Promise((resolve) => {
        const timer = setTimeout(resolve, HOLD_MAX_MS, 'released');
        ctx.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve('aborted');
        });
      });
    }
    return message;
  },
});
