import { describe, expect, it } from 'vitest';
import { detachSharedViews } from '../../../src/adapters/guest/detachSharedViews.js';

describe('detachSharedViews', () => {
  const slots = new SharedArrayBuffer(32);
  new Uint8Array(slots).forEach((_, i, bytes) => (bytes[i] = i));

  it('returns the very value when it holds no view of the shared buffer (nothing copied)', () => {
    const other = new SharedArrayBuffer(4);
    for (const value of [1, 'x', null, undefined, { a: [1, { b: new Uint8Array(2) }] }, new Uint8Array(other), new Map([[1, 2]])]) {
      expect(detachSharedViews(value, slots)).toBe(value);
    }
  });

  // The embedded guest clones a plugin's value once, with the slots beside it: within one
  // clone the slots become one new SharedArrayBuffer object, the views' buffer, and any
  // other buffer (of the same size too) stays another: identity still tells them apart.
  it('tells the slots from any other buffer by identity alone, in a clone taken with them', () => {
    const own = new SharedArrayBuffer(slots.byteLength);
    const [clonedSlots, cloned] = structuredClone([slots, { data: new Uint8Array(slots, 8, 4), own: new Uint8Array(own) }] as const);
    expect(clonedSlots).not.toBe(slots);
    const out = detachSharedViews(cloned, clonedSlots);
    expect(out.data.buffer).toBeInstanceOf(ArrayBuffer);
    expect([...out.data]).toEqual([8, 9, 10, 11]);
    expect(out.own.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(out.own.buffer).not.toBe(clonedSlots);
    // A buffer of the slots' size that is not them is left as it is.
    const other = { memory: own };
    expect(detachSharedViews(other, slots)).toBe(other);
  });

  it('copies every view of the shared buffer, wherever it sits, keeping the rest and the shape', () => {
    const view = new Uint8Array(slots, 8, 4);
    const words = new Uint16Array(slots, 16, 2);
    const data = new DataView(slots, 4, 2);
    const value = { view, list: [view, words], map: new Map([['d', data]]), set: new Set([view]), date: new Date(0), n: 1 };
    const out = detachSharedViews(value, slots);
    expect(out).not.toBe(value);
    expect(out.view.buffer).toBeInstanceOf(ArrayBuffer);
    expect([...out.view]).toEqual([8, 9, 10, 11]);
    // One view stays one value wherever it appears.
    expect(out.list[0]).toBe(out.view);
    expect([...out.set][0]).toBe(out.view);
    expect(out.list[1]).toBeInstanceOf(Uint16Array);
    expect(out.list[1]?.buffer).toBeInstanceOf(ArrayBuffer);
    expect([...(out.list[1] as Uint16Array)]).toEqual([...words]);
    expect(out.map.get('d')?.getUint8(0)).toBe(4);
    expect(out.map.get('d')?.buffer).toBeInstanceOf(ArrayBuffer);
    expect(out.date).toBe(value.date);
    expect(out.n).toBe(1);
    // The copy does not follow the slot.
    view[0] = 99;
    expect(out.view[0]).toBe(8);
  });

  it('survives cycles', () => {
    const value: { self?: unknown; view: Uint8Array } = { view: new Uint8Array(slots, 0, 2) };
    value.self = value;
    const out = detachSharedViews(value, slots);
    expect(out.self).toBe(out);
    expect(out.view.buffer).toBeInstanceOf(ArrayBuffer);
  });
});

describe('detachSharedViews: what a clone reads besides plain properties', () => {
  const slots = new SharedArrayBuffer(32);
  new Uint8Array(slots).forEach((_, i, bytes) => (bytes[i] = i));

  it("copies a view in an Error's cause, keeping the Error's kind, message and stack", () => {
    const error = new TypeError('bad frame', { cause: new Uint8Array(slots, 2, 2) });
    const out = detachSharedViews(error, slots);
    expect(out).not.toBe(error);
    expect(out).toBeInstanceOf(TypeError);
    expect(out.message).toBe('bad frame');
    expect(out.stack).toBe(error.stack);
    expect((out.cause as Uint8Array).buffer).toBeInstanceOf(ArrayBuffer);
    expect([...(out.cause as Uint8Array)]).toEqual([2, 3]);
    // And as structured cloning reads it: the copy crosses, not the slot.
    const cloned = structuredClone(out);
    expect((cloned.cause as Uint8Array).buffer).toBeInstanceOf(ArrayBuffer);
  });

  it("keeps an Error's own name, and its lack of a stack, as cloning does", () => {
    const renamed = new TypeError('x', { cause: new Uint8Array(slots, 0, 1) });
    renamed.name = 'RangeError';
    const bare = new Error('y', { cause: new Uint8Array(slots, 0, 1) });
    Reflect.deleteProperty(bare, 'stack');
    for (const error of [renamed, bare]) {
      const out = detachSharedViews(error, slots);
      expect(out).not.toBe(error);
      const [cloned, copied] = [structuredClone(error), structuredClone(out)];
      expect(Object.getPrototypeOf(copied)).toBe(Object.getPrototypeOf(cloned));
      expect(copied.name).toBe(cloned.name);
      expect(Object.hasOwn(copied, 'stack')).toBe(Object.hasOwn(cloned, 'stack'));
      expect(copied.stack).toBe(cloned.stack);
    }
  });

  it('leaves a proxy to the clone, which refuses it', () => {
    const proxy = new Proxy({ data: new Uint8Array(slots, 0, 1) }, {});
    const out = detachSharedViews({ proxy }, slots);
    expect(out.proxy).toBe(proxy);
    expect(() => structuredClone(out)).toThrow(expect.objectContaining({ name: 'DataCloneError' }) as Error);
  });

  it('refuses the shared buffer itself, as a DataCloneError', () => {
    expect(() => detachSharedViews({ buffer: slots }, slots)).toThrow(expect.objectContaining({ name: 'DataCloneError' }) as Error);
    expect(() => detachSharedViews(new Error('x', { cause: slots }), slots)).toThrow(/frame slots cannot be handed over/);
  });

  it('keeps an array’s holes and named properties, and boxed primitives, around a copied view', () => {
    const list: unknown[] = [new Uint8Array(slots, 0, 1)];
    list[3] = 'after a hole';
    Object.assign(list, { label: 'named' });
    const value = { list, boxed: new Number(5) };
    const out = detachSharedViews(value, slots);
    expect(out.list).toHaveLength(4);
    expect(1 in out.list).toBe(false);
    expect(out.list[3]).toBe('after a hole');
    expect((out.list as unknown as { label: string }).label).toBe('named');
    expect(out.boxed).toBe(value.boxed);
  });
});
