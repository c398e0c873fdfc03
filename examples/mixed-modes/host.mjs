// Loads every plugin listed in a JSON file, each in the mode the file says.
//
//   node examples/mixed-modes/host.mjs [plugins.json]
//
// The deployment lives in data, not code: give it another file (plugins.inline.json runs
// everything on the host's thread) and the same plugins run elsewhere, unchanged.
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { createRuntime } from 'plugin-seam';
import { where } from './where.mjs';

// The config file, and the plugin modules it names, are resolved relative to the file.
const configUrl = process.argv[2] ? pathToFileURL(process.argv[2]) : new URL('./plugins.json', import.meta.url);
/** @type {{ id: string, module: string, mode: 'inline' | 'embedded' | 'isolated', config?: unknown }[]} */
const entries = JSON.parse(await readFile(configUrl, 'utf8'));

const runtime = createRuntime();
// load() checks every option and throws InvalidOptions (naming the bad field) for a bad entry.
const plugins = entries.map((entry) =>
  runtime.load({ id: entry.id, module: new URL(entry.module, configUrl), mode: entry.mode, config: entry.config }),
);

// Start them all together; each start resolves once that plugin's start() resolved.
await Promise.all(
  plugins.map(async (p) => {
    await p.start();
    await p.run();
  }),
);
console.log(`host       ${where()}`);

const message = { text: 'one contract, three places to run a plugin' };
for (const p of plugins) {
  const reply = await p.send(message);
  console.log(`${p.id.padEnd(10)} ${p.mode.padEnd(8)} ${reply.where} → ${reply.result}`);
}

await runtime.shutdown();
