// CPU work that should not block the host's event loop: a natural fit for embedded.
import { definePlugin } from 'plugin-seam/plugin';
import { where } from './where.mjs';

export default definePlugin({
  name: 'word-count',
  onMessage(message, ctx) {
    const words = message.text.split(/\W+/).filter((w) => w.length >= ctx.config.minLength);
    return { result: `${words.length} words of ${ctx.config.minLength}+ letters`, where: where() };
  },
});
