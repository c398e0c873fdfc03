import { definePlugin } from '../../plugin/definePlugin.js';

interface Snapshot {
  readonly second: number;
  readonly frames: number;
  readonly meanBrightness: number;
}

/**
 * Demo plugin off the hot path: receives a snapshot message every second and answers with
 * one line of report. Its `start` and `stop` bracket the session.
 */
export default definePlugin({
  name: 'reporter',
  start(ctx) {
    ctx.log.info(`reporter generation ${ctx.generation} ready`);
  },
  onMessage(message) {
    const s = message as Snapshot;
    return `t=${s.second}s frames=${s.frames} mean-brightness=${s.meanBrightness.toFixed(1)}`;
  },
  stop(ctx) {
    ctx.log.info('reporter done');
  },
});
