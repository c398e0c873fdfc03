// `seam demo`, the README's main command: the real pipeline end to end (worker thread, child
// processes, shared memory, the permission flag, a real crash), its command line, and the pure
// pieces of its output.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { CliUsageError } from '../../dist/cli/commands/CliCommand.js';
import { demoCommand, parseSize, takeInspectFlag } from '../../dist/cli/commands/demoCommand.js';
import { findBlobs } from '../../dist/cli/demo/findBlobs.js';
import { CorruptFrameHeader, corruptFrameHeader, readFrameHeader, writeFrameHeader } from '../../dist/cli/demo/frameHeader.js';
import {
  formatDashboard,
  formatEvent,
  formatFailure,
  formatStatusLine,
  redrawBlock,
  uncaughtErrorOf,
  type DashboardRow,
} from '../../dist/cli/demo/formatDashboard.js';
import { formatSummary } from '../../dist/cli/demo/formatSummary.js';
import { LatencyWindow, percentile } from '../../dist/cli/demo/LatencyWindow.js';
import { LiveDashboard } from '../../dist/cli/demo/LiveDashboard.js';
import { renderReportHtml } from '../../dist/cli/demo/renderReportHtml.js';
import { SyntheticScene } from '../../dist/cli/demo/SyntheticScene.js';
import { runDemo } from '../../dist/cli/runDemo.js';
import { hasEnded } from '../property/ownChild.js';

const SEAM = fileURLToPath(new URL('../../dist/cli/seam.js', import.meta.url));
const ESC = '\u001b';
const dirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'seam-demo-test-'));
  dirs.push(dir);
  return dir;
}

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Plugin processes still attached to this process (isolated guests are our children). */
function guestChildren(): string[] {
  const out = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], { encoding: 'utf8' });
  return out.split('\n').filter((line) => line.includes('guest.js'));
}

function runSeam(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [SEAM, ...args], { timeout: 10_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr });
    });
  });
}

describe('seam demo, end to end', () => {
  it('runs the detector twins, crashes only the isolated one, recovers it, and writes the HTML report', async () => {
    const outDir = tempDir();
    let text = '';
    const summary = await runDemo({
      durationS: 3,
      fps: 20,
      width: 320,
      height: 180,
      crashAtFrame: 10,
      reportEveryS: 1,
      outDir,
      out: (chunk) => {
        text += chunk;
      },
      isTTY: false,
    });
    const [embedded, isolated] = summary.detectors;
    if (embedded === undefined || isolated === undefined) throw new Error('two detectors expected');
    expect(summary.crashFrame).toBe(10);

    // Both twins analysed frames and found the moving shapes.
    expect(embedded.done).toBeGreaterThan(0);
    expect(isolated.done).toBeGreaterThan(0);
    expect(embedded.detections).toBeGreaterThan(0);
    expect(isolated.detections).toBeGreaterThan(0);

    // The embedded twin never noticed: one generation, nothing lost, no failure.
    expect(embedded).toMatchObject({ mode: 'embedded', lost: 0, failed: 0, generation: 1, restarts: 0, failures: [] });
    expect(Object.keys(embedded.doneByGeneration)).toEqual(['1']);

    // The isolated twin died of the poisoned frame (lost, its process exited), came back as
    // generation 2, and did frames there.
    expect(isolated.mode).toBe('isolated');
    expect(isolated.failures[0]).toMatchObject({ class: 'lost', cause: 'exit', generation: 1 });
    expect(isolated.failures[0]?.detail).toContain('CorruptFrameHeader');
    expect(isolated.lost).toBeGreaterThanOrEqual(1);
    expect(isolated.generation).toBeGreaterThanOrEqual(2);
    expect(isolated.restarts).toBeGreaterThanOrEqual(1);
    // Generation 1 did the frames before the poisoned one (fewer if a loaded machine made the
    // camera skip some), and never one after it.
    expect(isolated.doneByGeneration[1]).toBeGreaterThan(0);
    expect(isolated.doneByGeneration[1]).toBeLessThanOrEqual(10);
    expect(isolated.doneByGeneration[2] ?? 0).toBeGreaterThan(0);
    const story = summary.events.filter((e) => e.id === 'detector-isolated' && e.kind !== 'log').map((e) => e.kind);
    expect(story.slice(0, 3)).toEqual(['failure', 'restart', 'recovered']);
    expect(summary.events.filter((e) => e.id === 'detector-embedded' && e.kind !== 'log')).toEqual([]);

    // The report plugin, allowed to write only there, wrote a real HTML file with the detections.
    expect(summary.reportsFailed).toBe(0);
    expect(summary.reportsWritten).toBeGreaterThanOrEqual(2);
    expect(summary.reportPath).toBe(join(summary.outDir, 'report.html'));
    const html = readFileSync(join(summary.outDir, 'report.html'), 'utf8');
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain('Final report');
    expect(html).toContain('detector-embedded');
    expect(html).toContain('detector-isolated');
    expect(html).toMatch(/<rect x="\d+" y="\d+" width="\d+" height="\d+" fill="none"/);
    expect(html).toContain('CorruptFrameHeader');

    // Plain output: status lines, the event lines, the summary, and not one escape sequence.
    expect(text).not.toContain(ESC);
    expect(text).toMatch(/^t=\d+\.\ds detector-embedded embedded running gen 1 fps /m);
    expect(text).toMatch(/^\[t=\d+\.\ds\] FAILURE detector-isolated: lost\/exit code 1 \(gen 1\): CorruptFrameHeader: bad magic/m);
    expect(text).toMatch(/^\[t=\d+\.\ds\] RESTART detector-isolated: generation 2 is up/m);
    expect(text).toMatch(/^\[t=\d+\.\ds\] RECOVERED detector-isolated: frames flowing again on generation 2/m);
    expect(text).toMatch(/^summary: /m);
    expect(text).toMatch(/^ {2}detector-embedded +embedded +frames \d+ done, 0 lost, /m);
    expect(text).toMatch(/^ {2}detector-isolated +isolated +frames \d+ done, [1-9]\d* lost, .* restart/m);
    expect(text).toContain(`report: ${join(summary.outDir, 'report.html')}`);

    // Shutdown left no plugin process behind.
    expect(guestChildren()).toEqual([]);
  });

  it('stops early on Ctrl-C (SIGINT), still prints the summary, closes the inspector and exits by itself', async () => {
    const outDir = tempDir();
    const args = ['demo', '--duration', '60', '--fps', '10', '--size', '320x180', '--out', outDir, '--inspect', '0'];
    const child = spawn(process.execPath, [SEAM, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    // Handshake: the first status line means the video runs.
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`no status line within 10 s:\n${stdout}`));
      }, 10_000);
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (/^t=\d/m.test(stdout)) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    child.kill('SIGINT');
    const code = await Promise.race([exited, new Promise<'hung'>((resolve) => setTimeout(() => { resolve('hung'); }, 10_000))]);
    if (code === 'hung') child.kill('SIGKILL');
    // Exiting by itself proves nothing was left open: timers, plugin processes, the inspector's server.
    expect(code).toBe(0);
    expect(stdout).toMatch(/^inspector: open http:\/\/127\.0\.0\.1:\d+\/$/m);
    expect(stdout).toMatch(/^summary: .*\(stopped early by Ctrl-C\), 600 frames planned/m);
    expect(stdout).toContain(`report: ${join(outDir, 'report.html')}`);
    expect(existsSync(join(outDir, 'report.html'))).toBe(true);
    expect(stdout).not.toContain(ESC);
  });
});

describe('seam demo | head', () => {
  it('ends quietly, with code 0, when its reader closes the pipe (EPIPE), leaving no plugin process', async () => {
    const outDir = tempDir();
    const child = spawn(process.execPath, [SEAM, 'demo', '--duration', '30', '--fps', '10', '--size', '320x180', '--out', outDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    // Handshake: a status line, then the reader goes away, as `head -2` would.
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error('no status line within 10 s'));
      }, 10_000);
      let stdout = '';
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (/^t=\d/m.test(stdout)) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    // Its plugin processes (the isolated twin and the exporter), to see them end with it.
    const guests = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(child.pid ?? -1)], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.includes('guest.js'))
      .map((line) => Number(line.trim().split(/\s+/)[0]));
    expect(guests.length).toBeGreaterThan(0);
    child.stdout.destroy();
    const code = await Promise.race([exited, new Promise<'hung'>((resolve) => setTimeout(() => { resolve('hung'); }, 10_000))]);
    if (code === 'hung') child.kill('SIGKILL');
    expect(code).toBe(0);
    expect(stderr).not.toMatch(/EPIPE|uncaught/);
    // They die with it (a death signal): bounded wait, then every one has ended.
    for (let i = 0; i < 100 && !guests.every(hasEnded); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(guests.filter((pid) => !hasEnded(pid))).toEqual([]);
  });
});

describe('seam demo command line', () => {
  it('is an executable file after the build, so `npx seam` runs it from the repository', () => {
    // npm sets the bit on install; the build did not, and `npx seam` in a checkout failed (sh: Permission denied).
    expect(statSync(SEAM).mode & 0o111).not.toBe(0);
    expect(readFileSync(SEAM, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });

  it('exits 2 with the usage for bad flags', async () => {
    // A few through the real binary (the exit code is the CLI's), the rest in process below.
    const runs = await Promise.all([['--bogus'], ['--size', 'huge'], ['extra']].map((args) => runSeam(['demo', ...args])));
    for (const { code, stderr } of runs) {
      expect(code).toBe(2);
      expect(stderr).toMatch(/^seam demo: /);
      expect(stderr).toContain('usage: seam <command>');
    }
  });

  it.each([
    [['--duration']],
    [['--duration', '0']],
    [['--fps', '-3']],
    [['--fps', '1000']],
    [['--size', '10x10']],
    [['--out', '']],
    [['--out', 'package.json']],
    [['--out', 'package.json/report']],
    [['--inspect', '99999']],
    [['--inspect', 'abc']],
  ])('refuses %j as a usage error before running anything', async (args) => {
    const io = { out: () => undefined, err: () => undefined, isTTY: false };
    const error: unknown = await demoCommand.run(args, io).then(
      () => undefined,
      (e: unknown) => e,
    );
    // What seam.ts turns into exit code 2: a CliUsageError or one of parseArgs' own codes.
    const usage = error instanceof CliUsageError || String((error as { code?: unknown } | undefined)?.code).startsWith('ERR_PARSE_ARGS');
    expect(usage).toBe(true);
  });

  it('parses --size and --inspect', () => {
    expect(parseSize('1080p')).toEqual({ width: 1920, height: 1080 });
    expect(parseSize('4K')).toEqual({ width: 3840, height: 2160 });
    expect(parseSize('640x360')).toEqual({ width: 640, height: 360 });
    expect(() => parseSize('640x')).toThrow(/--size/);
    expect(takeInspectFlag(['--fps', '5', '--inspect'])).toEqual({ rest: ['--fps', '5'], inspect: { port: 0 } });
    expect(takeInspectFlag(['--inspect', '9229', '--fps', '5'])).toEqual({ rest: ['--fps', '5'], inspect: { port: 9229 } });
    expect(takeInspectFlag(['--inspect=0'])).toEqual({ rest: [], inspect: { port: 0 } });
    expect(takeInspectFlag(['--fps', '5'])).toEqual({ rest: ['--fps', '5'], inspect: undefined });
  });
});

describe('demo pieces', () => {
  const failure = {
    class: 'lost' as const,
    cause: 'exit' as const,
    generation: 1,
    exitCode: 1,
    detail: 'exited with code 1; stderr: CorruptFrameHeader: bad magic 0xffffffff\n    at readFrameHeader (x.js:1:1)\n\nNode.js v20.20.2',
  };
  const row: DashboardRow = {
    id: 'detector-isolated',
    mode: 'isolated',
    state: 'failed',
    generation: 1,
    fps: 29.96,
    p50Ms: 1.234,
    p99Ms: 12.5,
    done: 240,
    lost: 1,
    dropped: 3,
    restarts: 0,
    lastFailure: failure,
    restartInMs: 412.4,
  };
  const header = { elapsedS: 8.04, durationS: 20, width: 1920, height: 1080, format: 'gray', fps: 30, reportsWritten: 4 };

  it('formats the dashboard block with fixed columns', () => {
    const reporter: DashboardRow = { ...row, id: 'report-export', state: 'running', fps: undefined, p50Ms: undefined, p99Ms: undefined, done: 4, lost: 0, dropped: 0, lastFailure: undefined, restartInMs: undefined };
    expect(formatDashboard(header, [row, reporter])).toEqual([
      'seam demo  1920x1080 gray @ 30 fps  t=8.0/20 s  reports written: 4',
      'instance           mode     state    gen   fps  p50 ms  p99 ms   done lost drop rst last failure',
      'detector-isolated  isolated failed     1  30.0    1.23   12.50    240    1    3   0 lost/exit code 1 (gen 1), restart in 412 ms',
      'report-export      isolated running    1     -       -       -      4    0    0   0 -',
    ]);
  });

  it('formats status lines, failures and events', () => {
    expect(formatStatusLine(8.04, { ...row, state: 'running', generation: 2, restarts: 1, restartInMs: undefined })).toBe(
      't=8.0s detector-isolated isolated running gen 2 fps 30.0 p50 1.23 ms p99 12.50 ms done 240 lost 1 dropped 3 restarts 1 last failure lost/exit code 1 (gen 1)',
    );
    expect(formatFailure({ class: 'lost', cause: 'signal', generation: 3, signal: 'SIGKILL' })).toBe('lost/signal SIGKILL (gen 3)');
    expect(uncaughtErrorOf(failure)).toBe('CorruptFrameHeader: bad magic 0xffffffff');
    expect(uncaughtErrorOf({ class: 'lost', cause: 'unresponsive', generation: 1 })).toBeUndefined();
    expect(formatEvent({ kind: 'failure', atS: 8.04, id: 'detector-isolated', failure, restartInMs: 412.4, exhausted: false })).toBe(
      '[t=8.0s] FAILURE detector-isolated: lost/exit code 1 (gen 1): CorruptFrameHeader: bad magic 0xffffffff; backoff 412 ms, then restart',
    );
    expect(formatEvent({ kind: 'failure', atS: 1, id: 'x', failure, restartInMs: undefined, exhausted: true })).toMatch(/; restart budget exhausted$/);
    expect(formatEvent({ kind: 'restart', atS: 8.5, id: 'detector-isolated', generation: 2, restarts: 1 })).toBe(
      '[t=8.5s] RESTART detector-isolated: generation 2 is up (restart 1)',
    );
    expect(formatEvent({ kind: 'recovered', atS: 8.6, id: 'detector-isolated', generation: 2, afterMs: 501.2, lost: 1 })).toBe(
      '[t=8.6s] RECOVERED detector-isolated: frames flowing again on generation 2, 501 ms after the failure (1 frame lost)',
    );
    expect(formatEvent({ kind: 'log', atS: 0, id: 'p', level: 'info', message: 'ready' })).toBe('[t=0.0s] [p] info: ready');
  });

  it('formats the closing summary', () => {
    const detector = {
      id: 'detector-isolated',
      mode: 'isolated',
      framesSubmitted: 600,
      framesSkipped: 0,
      done: 583,
      failed: 0,
      lost: 1,
      dropped: 16,
      doneByGeneration: { 1: 240, 2: 343 },
      failures: [failure],
      restarts: 1,
      generation: 2,
      fps: 29.15,
      p50Ms: 3.8,
      p99Ms: 51.357,
      detections: 2777,
    };
    const text = formatSummary(
      {
        width: 1920,
        height: 1080,
        format: 'gray',
        fps: 30,
        framesPlanned: 600,
        crashFrame: 240,
        videoS: 20,
        interrupted: true,
        detectors: [detector],
        reportsWritten: 10,
        reportsFailed: 0,
        reportPath: '/out/report.html',
        outDir: '/out',
        events: [],
      },
      'report-export',
    );
    expect(text.split('\n')).toEqual([
      'summary: 20.0 s of video (stopped early by Ctrl-C), 600 frames planned, 1920x1080 gray at 30 fps',
      '  detector-isolated  isolated  frames 583 done, 1 lost, 16 dropped, 0 skipped  29.1 fps  latency p50 3.80 ms p99 51.36 ms  generation 2, 1 restart, last failure lost/exit code 1 (gen 1)  2777 detections',
      '  report-export      isolated  10 reports written',
      'report: /out/report.html (plain HTML: open it in any browser)',
      '',
    ]);
  });

  it('redraws a block in place with ANSI, cut to the terminal width', () => {
    expect(redrawBlock(0, ['a', 'b'])).toBe(`a${ESC}[K\nb${ESC}[K\n${ESC}[J`);
    expect(redrawBlock(2, ['abcdef'], 4)).toBe(`${ESC}[2Fabc${ESC}[K\n${ESC}[J`);
  });

  it('draws the live dashboard in place in a terminal, plain lines otherwise', () => {
    const read = () => ({ header, rows: [row] });
    const event = { kind: 'restart' as const, atS: 8.5, id: 'detector-isolated', generation: 2, restarts: 1 };
    let tty = '';
    const live = new LiveDashboard({ out: (t) => {
        tty += t;
      }, isTTY: true, columns: 200, read });
    live.start();
    live.event(event);
    live.stop();
    const blockLines = formatDashboard(header, [row]).length;
    // Drawn once, then redrawn from its first line with the event line under it.
    expect(tty).toContain(`${ESC}[${blockLines}F`);
    expect(tty).toContain(`${ESC}[?25l`);
    expect(tty.endsWith(`${ESC}[?25h`)).toBe(true);
    expect(tty).toContain(`\n${formatEvent(event)}${ESC}[K\n`);
    let plain = '';
    const lines = new LiveDashboard({ out: (t) => {
        plain += t;
      }, isTTY: false, columns: undefined, read });
    lines.start();
    lines.event(event);
    lines.stop();
    expect(plain).toBe(`${formatEvent(event)}\n`);
  });

  it('measures latency percentiles and rate over a sliding window', () => {
    expect(percentile([], 0.5)).toBe(0);
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2);
    expect(percentile([1, 2, 3, 4], 0.99)).toBe(4);
    const window = new LatencyWindow(1_000);
    for (let i = 0; i < 100; i++) window.add(i * 20, i < 50 ? 100 : 1 + (i % 10));
    // At 2 s only the last second counts: 50 samples of 1..10 ms.
    expect(window.stats(2_000)).toEqual({ count: 50, rate: 50, p50Ms: 5, p99Ms: 10 });
    expect(window.overall(2_000)).toMatchObject({ count: 100, rate: 50, p99Ms: 100 });
  });

  it('stamps, reads and corrupts the frame header', () => {
    const data = new Uint8Array(64);
    writeFrameHeader(data, 123_456);
    expect(readFrameHeader(data)).toEqual({ frameIndex: 123_456 });
    corruptFrameHeader(data);
    expect(() => readFrameHeader(data)).toThrow(CorruptFrameHeader);
    expect(() => readFrameHeader(new Uint8Array(4))).toThrow(/no room/);
  });

  it('finds the shapes the synthetic camera draws', () => {
    const scene = new SyntheticScene(640, 360, 30);
    const data = new Uint8Array(scene.frameBytes);
    // A frame where no two shapes touch, so each is one blob.
    const frame = [0, 15, 30, 45, 60, 75, 90].find((i) => {
      const r = scene.shapesAt(i);
      return r.every((a, j) => r.every((b, k) => j === k || a.x + a.w + 8 < b.x || b.x + b.w + 8 < a.x || a.y + a.h + 8 < b.y || b.y + b.h + 8 < a.y));
    });
    if (frame === undefined) throw new Error('no frame with separate shapes');
    scene.render(data, frame);
    expect(readFrameHeader(data).frameIndex).toBe(frame);
    const blobs = findBlobs(data, 640, 360, { threshold: 128, cell: 4, minCells: 2, maxBlobs: 16 });
    expect(blobs).toHaveLength(5);
    for (const shape of scene.shapesAt(frame)) {
      // Each shape lies within one blob's box, give or take a cell.
      expect(blobs.some((b) => b.x <= shape.x + 4 && b.y <= shape.y + 4 && b.x + b.w >= shape.x + shape.w - 4 && b.y + b.h >= shape.y + shape.h - 4)).toBe(true);
    }
  });

  it('renders a self-contained HTML report, escaping what it shows', () => {
    const html = renderReportHtml({
      title: 'demo <script>',
      createdAt: '2026-01-01T00:00:00.000Z',
      final: false,
      elapsedS: 2,
      video: { width: 320, height: 180, format: 'gray', fps: 20 },
      detectors: [
        {
          id: 'detector-isolated',
          mode: 'isolated',
          state: 'running',
          generation: 2,
          restarts: 1,
          framesDone: 10,
          framesLost: 1,
          framesDropped: 0,
          detections: 3,
          p50Ms: 1,
          p99Ms: 2,
          failures: [{ generation: 1, class: 'lost', cause: 'exit', detail: 'a <b> & "c"' }],
          recent: [{ frame: 9, generation: 2, blobs: [{ x: 1, y: 2, w: 3, h: 4, cells: 5, level: 200 }] }],
        },
      ],
      events: [],
    });
    expect(html).toContain('<title>demo &lt;script&gt;</title>');
    expect(html).toContain('a &lt;b&gt; &amp; &quot;c&quot;');
    expect(html).toContain('<meta http-equiv="refresh" content="2">');
    expect(html).toContain('<rect x="1" y="2" width="3" height="4"');
    expect(html).not.toMatch(/<script|src=|href=/);
  });
});
