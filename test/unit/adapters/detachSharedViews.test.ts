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
