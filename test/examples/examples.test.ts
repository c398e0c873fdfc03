/**
 * Smoke tests of examples/: each example runs as a real `node` process against the built
 * package (self-reference), must exit 0 by itself within its deadline, and must print its
 * key lines. Run `npm run build` first.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { describeRun, runProcess, type ProcessResult } from './runNode.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Every example finishes in about a second here; the deadline leaves room for a busy CI. */
const DEADLINE_MS = 15_000;

async function runExample(script: string, ...args: string[]): Promise<ProcessResult> {
  return runProcess(process.execPath, [script, ...args], { cwd: root, timeoutMs: DEADLINE_MS });
}

/** Asserts a clean exit, and returns stdout's lines. */
function linesOf(label: string, result: ProcessResult): string[] {
  expect(result.timedOut, describeRun(label, result)).toBe(false);
  expect(result.code, describeRun(label, result)).toBe(0);
  expect(result.stderr, describeRun(label, result)).toBe('');
  return result.stdout.split('\n');
}

/** The index of the first line matching `pattern`; fails the test when there is none. */
function lineIndex(lines: readonly string[], pattern: RegExp): number {
  const index = lines.findIndex((line) => pattern.test(line));
  expect(index, `no line matches ${pattern}:\n${lines.join('\n')}`).toBeGreaterThanOrEqual(0);
  return index;
}

describe('examples/hello-world', () => {
  const transports = { inline: /^direct$/, embedded: /^shared-memory$/, isolated: /^(shared-memory|copy)$/ };

  it.each(Object.entries(transports))('runs the same plugin in %s mode', async (mode, transport) => {
    const lines = linesOf(`hello-world ${mode}`, await runExample('examples/hello-world/host.mjs', mode));
    expect(lines).toContain('[plugin log] hello plugin started (generation 1)');
    const [, reportedMode, reportedTransport] = /^mode: (\w+), transport: ([\w-]+)$/.exec(lines[lineIndex(lines, /^mode: /)]!)!;
    expect(reportedMode).toBe(mode);
    expect(reportedTransport).toMatch(transport);
    expect(lines).toContain('[output] greeted {"name":"world"}');
    expect(lines).toContain('reply: Hello, world!');
    expect(lines).toContain('final state: stopped');
  });

  it('refuses an unknown mode with a usage line and exit code 2', async () => {
    const result = await runExample('examples/hello-world/host.mjs', 'remote');
    expect(result.code, describeRun('hello-world remote', result)).toBe(2);
    expect(result.stderr).toContain('usage: node host.mjs [inline|embedded|isolated]');
  });
});

describe('examples/video-frames', () => {
  it('pushes zero-copy slots through an embedded plugin and shows the payload lifetime', async () => {
    const lines = linesOf('video-frames', await runExample('examples/video-frames/host.mjs'));
    expect(lines).toContain('mode: embedded, transport: shared-memory, 300 frames of 640x480 rgba');
    for (const seq of [100, 200, 300]) expect(lines).toContain(`[output] frame ${seq}: mean brightness 59`);
    expect(lines).toContain('outcomes: done=300 failed=0 dropped=0 lost=0');
    lineIndex(lines, /^throughput: [1-9]\d* fps$/);
    expect(lines).toContain("kept copy of the last frame's first bytes: [40, 40, 40, 40, 40, 40, 40, 40]");
    lineIndex(lines, /^kept FrameView after onFrame settled: FrameExpired: frame 300 of generation 1 /);
  });
});

describe('examples/report-export', () => {
  it('survives its plugin crashing on one message: lost, restarted, next report written', async () => {
    const lines = linesOf('report-export', await runExample('examples/report-export/host.mjs'));
    const q1 = lineIndex(lines, /^\[export\] Q1 Sales: wrote q1-sales\.txt \(\d+ bytes\) in generation 1$/);
    const failed = lineIndex(lines, /^\[status\] failed \(generation 1\) — lost\/exit, restart in \d+ ms$/);
    const q2 = lineIndex(
      lines,
      /^\[export\] Q2 Sales: LostWhileRunning in generation 1 \(exit\): TypeError: Cannot read properties of undefined \(reading 'toFixed'\)$/,
    );
    const restarting = lineIndex(lines, /^\[status\] starting \(generation 2\)$/);
    const running2 = lineIndex(lines, /^\[status\] running \(generation 2\)$/);
    const q3 = lineIndex(lines, /^\[export\] Q3 Sales: wrote q3-sales\.txt \(\d+ bytes\) in generation 2$/);
    const stopped = lineIndex(lines, /^\[status\] stopped \(generation 2\)$/);
    // The crash comes after the first report and before the restart, which precedes the
    // third report; the failed status and the rejected send() may be printed in either order.
    expect(q1).toBeLessThan(Math.min(failed, q2));
    expect(Math.max(failed, q2)).toBeLessThan(restarting);
    expect(restarting).toBeLessThan(running2);
    expect(running2).toBeLessThan(q3);
    expect(q3).toBeLessThan(stopped);
    expect(lines).toContain('restarts: 1');
    expect(lines).toContain('TOTAL              1485.25');
    expect(lines).toContain('[plugin log] exporter ready (generation 2)');
  });
});

describe('examples/mixed-modes', () => {
  interface Placement {
    readonly mode: string;
    readonly pid: number;
    readonly thread: number;
    readonly result: string;
  }

  /** Parses `host pid P, thread T` and `<id> <mode> pid P, thread T → result` lines. */
  function placements(lines: readonly string[]): { host: { pid: number; thread: number }; plugins: Map<string, Placement> } {
    const [, hostPid, hostThread] = /^host +pid (\d+), thread (\d+)$/.exec(lines[lineIndex(lines, /^host /)]!)!;
    const plugins = new Map<string, Placement>();
    for (const line of lines) {
      const match = /^([\w-]+) +(\w+) +pid (\d+), thread (\d+) → (.+)$/.exec(line);
      if (match === null) continue;
      const [, id, mode, pid, thread, result] = match;
      plugins.set(id!, { mode: mode!, pid: Number(pid), thread: Number(thread), result: result! });
    }
    return { host: { pid: Number(hostPid), thread: Number(hostThread) }, plugins };
  }

  const results = {
    uppercase: 'ONE CONTRACT, THREE PLACES TO RUN A PLUGIN!',
    'word-count': '4 words of 4+ letters',
    checksum: 'sha256 616aa4ecda853544…',
  };

  it('loads each plugin in the mode plugins.json names', async () => {
    const { host, plugins } = placements(linesOf('mixed-modes', await runExample('examples/mixed-modes/host.mjs')));
    expect([...plugins.keys()]).toEqual(Object.keys(results));
    for (const [id, result] of Object.entries(results)) expect(plugins.get(id)?.result).toBe(result);
    const uppercase = plugins.get('uppercase')!;
    const wordCount = plugins.get('word-count')!;
    const checksum = plugins.get('checksum')!;
    // inline: the host's thread; embedded: another thread of the host's process; isolated: another process.
    expect(uppercase).toMatchObject({ mode: 'inline', pid: host.pid, thread: host.thread });
    expect(wordCount).toMatchObject({ mode: 'embedded', pid: host.pid });
    expect(wordCount.thread).not.toBe(host.thread);
    expect(checksum.mode).toBe('isolated');
    expect(checksum.pid).not.toBe(host.pid);
  });

  it('runs the same plugins elsewhere when given another file', async () => {
    const result = await runExample('examples/mixed-modes/host.mjs', 'examples/mixed-modes/plugins.inline.json');
    const { host, plugins } = placements(linesOf('mixed-modes inline', result));
    expect([...plugins.keys()]).toEqual(Object.keys(results));
    for (const [id, expected] of Object.entries(results)) {
      expect(plugins.get(id)).toMatchObject({ mode: 'inline', pid: host.pid, thread: host.thread, result: expected });
    }
  });
});

// The plugin-author example's vitest file (histogram.test.mjs) runs as part of the suite
// itself (vitest.config.ts includes examples/**/*.test.mjs); its script runs here.
describe('examples/testing-your-plugin', () => {
  it('checks the example plugin in every mode with checkPlugin and prints a passing report', async () => {
    const lines = linesOf('testing-your-plugin check', await runExample('examples/testing-your-plugin/check.mjs'));
    for (const mode of ['inline', 'embedded', 'isolated']) lineIndex(lines, new RegExp(`^${mode}\\s+PASS\\b`));
    lineIndex(lines, /^PASS: the plugin conforms in inline, embedded, isolated$/);
  });
});
