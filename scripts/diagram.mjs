// Writes the lifecycle diagram, generated from the machine itself, into the README between
// its markers. `npm run diagram`; a test fails when the committed diagram is stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { pluginLifecycleMachine } from '../dist/machines/pluginLifecycleMachine.js';
import { toMermaid } from '../dist/machines/toMermaid.js';

const START = '<!-- lifecycle-diagram:start -->';
const END = '<!-- lifecycle-diagram:end -->';
const readme = new URL('../README.md', import.meta.url);
const text = readFileSync(readme, 'utf8');
const from = text.indexOf(START);
const to = text.indexOf(END);
if (from < 0 || to < from) throw new Error(`README.md needs the markers ${START} and ${END}`);
const block = `${START}\n\`\`\`mermaid\n${toMermaid(pluginLifecycleMachine)}\n\`\`\`\n`;
writeFileSync(readme, text.slice(0, from) + block + text.slice(to));
process.stdout.write('README.md: lifecycle diagram updated\n');
