// copyValue: structured-clone semantics, without the clone for immutable primitives.
import { describe, expect, it } from 'vitest';
import { copyValue, isImmutablePrimitive } from '../../../src/adapters/copyValue.js';

describe('copyValue', () => {
  it('returns immutable primitives as they are, -0 and NaN included', () => {
    for (const value of ['text', '', 0, -0, Number.NaN, 1.5, true, false, 10n, null, undefined]) {
      expect(Object.is(copyValue(value), value)).toBe(true);
      expect(isImmutablePrimitive(value)).toBe(true);
    }
  });

  it('copies objects deeply, so later changes of the original do not reach the copy', () => {
    const original = { list: [1, { deep: 'a' }], when: new Date(0), bytes: new Uint8Array([1, 2]) };
    const copy = copyValue(original);
    expect(copy).not.toBe(original);
    expect(copy).toEqual(original);
    (original.list[1] as { deep: string }).deep = 'b';
    original.bytes[0] = 9;
    expect(copy).toEqual({ list: [1, { deep: 'a' }], when: new Date(0), bytes: new Uint8Array([1, 2]) });
    expect(isImmutablePrimitive(original)).toBe(false);
  });

  it('fails like structuredClone for what cannot be cloned, symbols included', () => {
    expect(() => copyValue(Symbol('s'))).toThrow(expect.objectContaining({ name: 'DataCloneError' }) as Error);
    expect(() => copyValue({ f: () => 1 })).toThrow(expect.objectContaining({ name: 'DataCloneError' }) as Error);
    expect(isImmutablePrimitive(Symbol('s'))).toBe(false);
  });
});
