// What a failure's detail says about a plugin process that died: the cause from the exit
// code, signal and OOM markers, and a stderr summary that keeps the error's message line in
// view however deep its stack was.
import { describe, expect, it } from 'vitest';
import { classifyExit } from '../../../src/adapters/isolated/classifyExit.js';
import { tailSummary } from '../../../src/adapters/tailSummary.js';

const deepStack = [
  'file:///plugins/faulty.mjs:12',
  "    throw new Error('rejection nobody handled');",
  '    ^',
  '',
  'Error: rejection nobody handled',
  ...Array.from({ length: 8 }, (_, i) => `    at frame${i} (file:///plugins/faulty.mjs:${i + 1}:1)`),
  '',
  'Node.js v20.20.2',
  '',
].join('\n');

describe('classifyExit', () => {
  it('keeps the message line of an error with a deep stack, and the first frames', () => {
    const fault = classifyExit(1, null, deepStack);
    expect(fault).toMatchObject({ cause: 'exit', exitCode: 1 });
    expect(fault.detail).toMatch(/^exited with code 1; stderr: /);
    expect(fault.detail).toContain('Error: rejection nobody handled');
    expect(fault.detail).toContain('at frame0');
    expect(fault.detail).toContain('at frame1');
    expect(fault.detail).not.toContain('at frame2');
    expect(fault.detail).not.toContain('Node.js v');
  });

  it('keeps the last lines of plain output', () => {
    const lines = Array.from({ length: 10 }, (_, i) => `line ${i}`).join('\n');
    expect(tailSummary(lines)).toBe(['line 4', 'line 5', 'line 6', 'line 7', 'line 8', 'line 9'].join('\n'));
    expect(classifyExit(3, null, '').detail).toBe('exited with code 3');
    // What the plugin printed on stdout before it gave up is quoted after stderr.
    expect(classifyExit(5, null, 'warning: low disk\n', 'cannot reach the database\n').detail).toBe(
      'exited with code 5; stderr: warning: low disk; stdout: cannot reach the database',
    );
    expect(classifyExit(5, null, '', 'bye\n').detail).toBe('exited with code 5; stdout: bye');
    // A megabyte on one line is cut, not quoted whole.
    expect(tailSummary(`start ${'x'.repeat(1_000_000)}\nend`)).toBe(`start ${'x'.repeat(194)}…\nend`);
  });

  it('tells a V8 heap exhaustion from other signals', () => {
    expect(classifyExit(null, 'SIGABRT', 'FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory')).toMatchObject({
      cause: 'oom',
      signal: 'SIGABRT',
    });
    expect(classifyExit(null, 'SIGABRT', 'abort() called')).toMatchObject({ cause: 'signal', signal: 'SIGABRT' });
    expect(classifyExit(null, 'SIGKILL', '')).toMatchObject({ cause: 'signal', signal: 'SIGKILL', detail: 'killed by SIGKILL' });
  });

  it("keeps V8's fatal line in view over its native stack frames, and knows its OOM wordings", () => {
    const oom = [
      '<--- JS stacktrace --->',
      '',
      'FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory',
      '----- Native stack trace -----',
      '',
      ...Array.from({ length: 12 }, (_, i) => ` ${i + 1}: 0x${(0x1112684 + i).toString(16)} v8::internal::Heap::PerformGarbageCollection() [node]`),
      '',
    ].join('\n');
    const fault = classifyExit(null, 'SIGABRT', oom);
    expect(fault).toMatchObject({ cause: 'oom', signal: 'SIGABRT' });
    expect(fault.detail).toContain('Reached heap limit');
    expect(fault.detail).toContain(' 1: 0x1112684');
    expect(fault.detail).not.toContain(' 3: 0x');
    // A heap too small for Node's own start says it this way.
    expect(classifyExit(null, 'SIGTRAP', '\n#\n# Fatal javascript OOM in GC during deserialization\n#\n')).toMatchObject({ cause: 'oom' });
  });
});
