// Trusted and cheap: a natural fit for inline, but it runs the same in any mode.
import { definePlugin } from 'plugin-seam/plugin';
import { where } from './where.mjs';

export default definePlugin({
  name: 'uppercase',
  onMessage(message, ctx) {
    return { result: message.text.toUpperCase() + ctx.config.suffix, where: where() };
  },
});
