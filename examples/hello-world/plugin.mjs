// The whole plugin. It never asks where it runs: the host picks the mode at load time.
import { definePlugin } from 'plugin-seam/plugin';

export default definePlugin({
  name: 'hello',

  // Once per generation (launch), before any input.
  start(ctx) {
    ctx.log.info(`hello plugin started (generation ${ctx.generation})`);
  },

  // What this returns resolves the host's `send()`.
  onMessage(message, ctx) {
    ctx.emit('greeted', { name: message.name });
    return `${ctx.config.greeting}, ${message.name}!`;
  },
});
