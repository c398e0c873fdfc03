#!/usr/bin/env node
// @ts-check
/**
 * Summarise a V8 .cpuprofile (from `node --cpu-prof`): the top functions by self time and
 * by inclusive time, in % of the profile's wall time (idle included).
 *
 *   node bench/lib/cpuprofile-top.js <file.cpuprofile> [top=25] [filter-regexp]
 */
import { readFileSync } from 'node:fs';
import process from 'node:process';
import { exitQuietlyOnEpipe } from './stdout.js';

exitQuietlyOnEpipe();

/**
 * @typedef {{ id: number, callFrame: { functionName: string, url: string, lineNumber: number }, children?: number[] }} ProfileNode
 * @typedef {{ nodes: ProfileNode[], samples: number[], timeDeltas: number[] }} Profile
 */

const [file, topArg = '25', filter] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: cpuprofile-top.js <file.cpuprofile> [top] [filter-regexp]\n');
  process.exit(2);
}
/** @type {Profile} */
const prof = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
/** @type {Map<number, number>} */
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
/** @param {ProfileNode} n */
const key = (n) => `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber + 1}`;
/** @type {Map<string, number>} */
const self = new Map();
/** @type {Map<string, number>} */
const incl = new Map();
let total = 0;
prof.samples.forEach((id, i) => {
  const dt = prof.timeDeltas[i] ?? 0;
  total += dt;
  /** @type {Set<string>} */
  const seen = new Set();
  for (let cur = /** @type {number | undefined} */ (id), first = true; cur !== undefined; cur = parent.get(cur), first = false) {
    const node = byId.get(cur);
    if (!node) break;
    const k = key(node);
    if (first) self.set(k, (self.get(k) ?? 0) + dt);
    if (!seen.has(k)) {
      seen.add(k);
      incl.set(k, (incl.get(k) ?? 0) + dt);
    }
  }
});
const top = Number(topArg);
const re = filter ? new RegExp(filter) : null;
/** @param {string} title @param {Map<string, number>} m */
const print = (title, m) => {
  process.stdout.write(`--- ${title}\n`);
  const rows = [...m].filter(([k]) => !re || re.test(k)).sort((a, b) => b[1] - a[1]).slice(0, top);
  for (const [k, t] of rows) process.stdout.write(`${((100 * t) / total).toFixed(1).padStart(5)}%  ${k}\n`);
};
process.stdout.write(`${file}: ${(total / 1e3).toFixed(0)} ms\n`);
print('self', self);
print('inclusive', incl);
