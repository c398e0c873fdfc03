// A slow, less trusted plugin: renders a report and writes it to a file. It runs isolated
// (in its own process), so when its bug strikes only this process dies, never the host.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { definePlugin } from 'plugin-seam/plugin';

/**
 * Renders rows a chunk at a time, yielding to the event loop between chunks.
 *
 * BUG (on purpose): a row without an `amount` throws inside the `setImmediate` callback,
 * outside any promise. That is an uncaught exception: it ends the plugin's process. (A
 * throw directly inside onMessage would only fail that one message.)
 *
 * @param {{ item: string, amount?: number }[]} rows
 * @returns {Promise<string>}
 */
function render(rows) {
  return new Promise((resolve) => {
    const lines = [];
    let i = 0;
    const step = () => {
      for (const end = Math.min(i + 100, rows.length); i < end; i++) {
        lines.push(`${rows[i].item.padEnd(16)}${rows[i].amount.toFixed(2).padStart(10)}`);
      }
      if (i < rows.length) setImmediate(step);
      else resolve(lines.join('\n'));
    };
    setImmediate(step);
  });
}

export default definePlugin({
  name: 'report-exporter',

  start(ctx) {
    ctx.log.info(`exporter ready (generation ${ctx.generation})`);
  },

  // message: { title, rows }; returns where the report went and how big it is.
  async onMessage(message, ctx) {
    const body = await render(message.rows);
    const total = message.rows.reduce((sum, row) => sum + row.amount, 0);
    const text = `${message.title}\n${'='.repeat(26)}\n${body}\n${'TOTAL'.padEnd(16)}${total.toFixed(2).padStart(10)}\n`;
    const file = path.join(ctx.config.outDir, `${message.title.toLowerCase().replaceAll(' ', '-')}.txt`);
    await writeFile(file, text);
    return { file: path.basename(file), bytes: Buffer.byteLength(text), generation: ctx.generation };
  },
});
