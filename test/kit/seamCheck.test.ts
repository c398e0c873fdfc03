// `seam check` as a plugin author runs it: a real process, real workers and child processes.
import { describe, expect, it } from 'vitest';
import type { CheckReport } from 'plugin-seam/testing';
import { spawn } from 'node:child_process';
import { fixture, seam, seamJs } from './seamProcess.js';

/** The lines of one mode's block in the human report. */
function modeBlock(stdout: string, mode: string): string {
  const match = new RegExp(`^${mode} +(PASS|FAIL)[^\\n]*(\\n {2}[^\\n]*)*`, 'm').exec(stdout);
  return match?.[0] ?? '';
}

describe('seam check', () => {
  it('passes check-good-frames in every mode and exits 0', async () => {
    const run = await seam(['check', fixture('check-good-frames')]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    for (const mode of ['inline', 'embedded', 'isolated']) expect(run.stdout).toMatch(new RegExp(`^${mode} +PASS +\\d+/\\d+ checks passed$`, 'm'));
    expect(run.stdout).toMatch(/^PASS: the plugin conforms in inline, embedded, isolated$/m);
  });

  it('passes check-good-echo in every mode, reporting as JSON with --json, and exits 0', async () => {
    const run = await seam(['check', fixture('check-good-echo'), '--json', '--config', '{"greeting":"hi"}']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as CheckReport;
    expect(report).toMatchObject({ modes: ['inline', 'embedded', 'isolated'], passed: true, differences: [] });
    const checks = ['start', 'inputs', 'stop', 'restart', 'payload', 'instances'];
    expect(report.results.map((r) => `${r.mode} ${r.check} ${r.passed}`)).toEqual([
      ...checks.map((c) => `inline ${c} true`),
      ...[...checks, 'modes'].map((c) => `embedded ${c} true`),
      ...[...checks, 'modes'].map((c) => `isolated ${c} true`),
    ]);
    expect(report.inputs).toHaveLength(10);
  });

  it('keeps --json output JSON when the plugin prints to its console (inline: this process; embedded: its worker)', async () => {
    const run = await seam(['check', fixture('check-chatty'), '--json']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect((JSON.parse(run.stdout) as CheckReport).passed).toBe(true);
    // What the plugin printed went to stderr.
    expect(run.stderr).toMatch(/^starting generation 1$/m);
  });

  it.each(['check', 'bench', 'demo'])('prints the usage of seam %s for --help, exit 0', async (command) => {
    const run = await seam([command, '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^usage: seam ${command} `));
  });

  it('does not pass a check that an inline plugin cut short with process.exit(0): exit 1, and says why', async () => {
    const run = await seam(['check', fixture('check-exits'), '--modes', 'inline']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/the process ended with code 0 before the command finished/);
  });

  it('says what ended a generation (the error), not only that the inputs after it were dropped', async () => {
    const run = await seam(['check', fixture('check-crashes-later'), '--modes', 'embedded,isolated']);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    for (const mode of ['embedded', 'isolated']) {
      const block = modeBlock(run.stdout, mode);
      // The inputs case, up to the next case: a handful of problems, the first of which says why.
      const inputs = /FAIL gives every input exactly one outcome[^\n]*\n((?: {5,}[^\n]*\n?|\n)*)/.exec(block)?.[1] ?? '';
      expect(inputs, block).toContain('boom in a timer');
    }
  });

  it("names the plugin as its author knows it (its module) in the runtime's messages, not after the kit's runs", async () => {
    const run = await seam(['check', fixture('check-exits'), '--modes', 'embedded']);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.stdout).toMatch(/LostWhileRunning: plugin "check-exits" \(generation 1\) lost while running/);
    expect(run.stdout).not.toMatch(/plugin "(baseline|poisoned|pair)/);
  });

  it('exits 141, quietly, when the reader of its report is gone: no verdict is given by a closed pipe', async () => {
    const child = spawn(process.execPath, [seamJs, 'check', fixture('check-good-echo'), '--modes', 'inline'], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(141);
    expect(stderr).not.toMatch(/EPIPE|uncaught/);
  });

  it('names a Buffer answer as the cause when isolated differs: the runtime delivers it as a Buffer there only', async () => {
    const run = await seam(['check', fixture('check-returns-buffer'), '--modes', 'inline,isolated']);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    const isolated = modeBlock(run.stdout, 'isolated');
    expect(isolated).toMatch(/inline: +reply Uint8Array\(20\)/);
    expect(isolated).toMatch(/isolated: +reply Buffer\(20\)/);
    expect(isolated).toContain('likely cause: a Buffer the plugin returned or emitted');
  });

  it('flags module-level state shared between instances (inline only) with exit 1, the cause and the inputs', async () => {
    const run = await seam(['check', fixture('check-shared-state')]);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    const inline = modeBlock(run.stdout, 'inline');
    expect(inline).toMatch(/FAIL gives each of two instances side by side the transcript of one/);
    expect(inline).toContain('in inline, instance B differs from a single instance at input 3 (message {type: "ping", n: 1}):');
    expect(inline).toMatch(/a single instance: reply \{received: \{type: "ping", n: 1\}, count: 1\}/);
    expect(inline).toMatch(/instance B: +reply \{received: \{type: "ping", n: 1\}, count: 2\}/);
    expect(inline).toContain('also differs at: input 6, input 10');
    expect(inline).toMatch(/likely cause: the instances share state\. In inline mode all instances of a module share its module-level variables/);
    // Each worker or process has its own module: side by side, the instances keep apart…
    for (const mode of ['embedded', 'isolated']) {
      expect(modeBlock(run.stdout, mode)).toMatch(/ok {3}gives each of two instances side by side/);
    }
    // …but after a restart only inline keeps counting: a difference between modes.
    expect(run.stdout).toMatch(
      /differences between modes:\n {2}generation 2, input 3 \(message \{type: "ping", n: 1\}\):\n {4}inline: +reply \{[^\n]*count: 4\}\n {4}embedded, isolated: reply \{[^\n]*count: 1\}/,
    );
    expect(run.stdout).toMatch(/^FAIL: 3 of 20 checks failed \(inline, embedded, isolated\); the plugin behaves differently depending on its mode$/m);
  });

  it('flags a plugin that reads a kept frame.data after onFrame with exit 1, the cause and the inputs', async () => {
    const run = await seam(['check', fixture('check-retains-frame')]);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    for (const mode of ['inline', 'embedded', 'isolated']) {
      const block = modeBlock(run.stdout, mode);
      expect(block).toMatch(/FAIL gives the same transcript with frames\.poisonReleased/);
      expect(block).toContain(`in ${mode}, the transcript with frames.poisonReleased differs at input 2 (frame 4×4 rgba, 64 bytes):`);
      expect(block).toMatch(/without poisonReleased: emit diff \{seq: 2, diff: \d+\}/);
      expect(block).toMatch(/with poisonReleased: +emit diff \{seq: 2, diff: \d+\}/);
      expect(block).toMatch(/likely cause: the plugin reads frame bytes after its onFrame call settled \(it kept frame\.data/);
      expect(block).toMatch(/ok {3}gives each of two instances side by side/);
    }
  });

  it('passes the shared-state plugin when inline is left out with --modes: only inline shares a module', async () => {
    const run = await seam(['check', fixture('check-shared-state'), '--modes', 'embedded']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^embedded +PASS +6\/6 checks passed$/m);
  });

  it('says on stderr which runs take more than a second, and nothing for a quick check', async () => {
    const quick = await seam(['check', fixture('check-good-echo'), '--modes', 'embedded', '--json']);
    expect(quick.code, quick.stdout + quick.stderr).toBe(0);
    // Nothing while no run can have taken a second (a loaded machine may slow one past it:
    // then only well-formed lines).
    const progress = quick.stderr.split('\n').filter((line) => line.startsWith('seam check:'));
    if ((JSON.parse(quick.stdout) as CheckReport).durationMs < 1_000) expect(progress).toEqual([]);
    for (const line of progress) expect(line).toMatch(/^seam check: embedded: (\w+ run: .*…|\w+ run done in \d+\.\d s)$/);
    // Two starts of 1.2 s in the baseline run, one in each other run: each run is slow.
    const slow = await seam(['check', fixture('check-slow-start'), '--modes', 'embedded', '--config', '{"delayMs":1200}']);
    expect(slow.code, slow.stdout + slow.stderr).toBe(0);
    expect(slow.stderr).toMatch(/^seam check: embedded: baseline run: start \(deadline 10000 ms\), 10 inputs, stop, then a second generation…$/m);
    expect(slow.stderr).toMatch(/^seam check: embedded: baseline run done in \d+\.\d s$/m);
    expect(slow.stderr).toMatch(/^seam check: embedded: pair run done in/m);
    // The report stays on stdout alone.
    expect(slow.stdout).not.toMatch(/seam check:/);
    expect(slow.stdout).toMatch(/^PASS: the plugin conforms in embedded$/m);
  });
});
