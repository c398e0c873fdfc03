// Third-party code you would rather keep at arm's length: a natural fit for isolated.
import { createHash } from 'node:crypto';
import { definePlugin } from 'plugin-seam/plugin';
import { where } from './where.mjs';

export default definePlugin({
  name: 'checksum',
  onMessage(message, ctx) {
    const digest = createHash(ctx.config.algorithm).update(message.text).digest('hex');
    return { result: `${ctx.config.algorithm} ${digest.slice(0, 16)}…`, where: where() };
  },
});
