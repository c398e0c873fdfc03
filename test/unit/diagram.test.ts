// The README's lifecycle diagram is generated from the machine: it must not drift.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { pluginLifecycleMachine } from '../../src/machines/pluginLifecycleMachine.js';
import { toMermaid } from '../../src/machines/toMermaid.js';

describe('lifecycle diagram', () => {
  it('in the README matches the machine (run `npm run diagram` after changing the machine)', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const block = /<!-- lifecycle-diagram:start -->\n```mermaid\n([\s\S]*?)\n```\n<!-- lifecycle-diagram:end -->/.exec(readme);
    expect(block?.[1]).toBe(toMermaid(pluginLifecycleMachine));
  });

  it('shows every state and the guarded, delayed and eventless transitions', () => {
    const diagram = toMermaid(pluginLifecycleMachine);
    for (const state of ['loaded', 'generation_starting', 'generation_up_running', 'generation_stopping', 'stopped', 'failed_backoff', 'failed_terminal']) {
      expect(diagram).toContain(state);
    }
    expect(diagram).toContain('generation_starting --> supervising : after startTimeout');
    expect(diagram).toContain('supervising --> failed_backoff : always [mayRestart]');
    expect(diagram).toContain('generation_up_started --> generation_up_running : run');
  });
});
