// copyValue: structured-clone semantics, without the clone for immutable primitives.
import { describe, expect, it } from 'vitest';
import { copyValue, copyValueFor, isImmutablePrimitive } from '../../../src/adapters/copyValue.js';

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

  it('for an isolated plugin: fails word for word as every mode does, and says so when only a process boundary refuses', () => {
    const message = (f: () => unknown): string => {
      try {
        f();
      } catch (error) {
        return (error as Error).message;
      }
      return 'no error';
    };
    expect(message(() => copyValueFor('isolated', { f: () => 1 }))).toBe(message(() => copyValueFor('inline', { f: () => 1 })));
    expect(message(() => copyValueFor('isolated', { s: new SharedArrayBuffer(4) }))).toMatch(/\(it must cross to the plugin's process\)$/);
    expect(copyValueFor('embedded', { s: new SharedArrayBuffer(4) }).s).toBeInstanceOf(SharedArrayBuffer);
  });

  it("for an isolated plugin: a typed array comes back over a buffer of its own, not the serialized message's", () => {
    const copy = copyValueFor('isolated', { pad: 'x'.repeat(100), bytes: new Uint8Array([1, 2, 3, 4]), more: Buffer.from('abcd') });
    expect(copy.bytes).toEqual(new Uint8Array([1, 2, 3, 4]));
    expect(copy.bytes.buffer.byteLength).toBe(4);
    expect(Buffer.isBuffer(copy.more)).toBe(true);
    expect(copy.more.buffer.byteLength).toBe(4);
  });
});
