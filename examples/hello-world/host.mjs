// A minimal host: load the plugin, start it, send one message, print the reply, shut down.
//
//   node examples/hello-world/host.mjs [inline|embedded|isolated]
//
// The mode is the only thing that changes between the three runs; plugin.mjs stays the same.
import { createRuntime } from 'plugin-seam';

const mode = process.argv[2] ?? 'inline';
if (!['inline', 'embedded', 'isolated'].includes(mode)) {
  console.error(`usage: node host.mjs [inline|embedded|isolated] (got "${mode}")`);
  process.exit(2);
}

const runtime = createRuntime();
const p = runtime.load({
  id: 'hello',
  // A URL relative to this file, so the example runs from any working directory.
  module: new URL('./plugin.mjs', import.meta.url),
  mode,
  config: { greeting: 'Hello' },
});

p.logs$.subscribe((line) => console.log(`[plugin log] ${line.message}`));
p.outputs$.subscribe((out) => console.log(`[output] ${out.channel} ${JSON.stringify(out.value)}`));

await p.start(); // resolves once the plugin's start() has resolved
await p.run(); // inputs are delivered from now on
console.log(`mode: ${p.mode}, transport: ${p.status.transport}`);

const reply = await p.send({ name: 'world' });
console.log(`reply: ${reply}`);

await runtime.shutdown(); // stops the plugin (and its thread or process)
console.log(`final state: ${p.status.state}`);
