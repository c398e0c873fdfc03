// The README's main command runs this: it must work end to end and account for every frame.
import { describe, expect, it } from 'vitest';
import { runDemo } from '../../dist/cli/runDemo.js';

describe('seam demo', () => {
  it('runs two inline plugins on synthetic video and reports every second', async () => {
    const lines: string[] = [];
    const summary = await runDemo({ durationS: 1, fps: 20, width: 64, height: 32, write: (line) => lines.push(line) });
    expect(summary).toMatchObject({ framesSent: 20, framesDone: 20, dropped: 0, reports: 1 });
    expect(lines.some((l) => /^\[reporter\] t=1s frames=\d+ mean-brightness=\d+\.\d$/.test(l))).toBe(true);
    expect(lines.at(-1)).toMatch(/^summary: 20\/20 frames done, 0 dropped, 1 reports/);
  });
});
