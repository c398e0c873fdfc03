// The copy transport's start record: the host's fence raises its byte and reads which
// delivery the guest started last, from one byte that wraps every 256 deliveries; the file
// exists on disk only for the moment it takes to open it.
import { readSync, readlinkSync, writeSync } from 'node:fs';
import { platform } from 'node:os';
import process from 'node:process';
import { describe, expect, it } from 'vitest';
import { StartRecordFile } from '../../../src/adapters/isolated/StartRecordFile.js';
import { START_RECORD_FENCE, START_RECORD_STARTED, decodeStartedByte } from '../../../src/adapters/protocol.js';

/** What the guest writes before it starts delivery `dseq` (isolated/guest.ts). */
function guestStarts(record: StartRecordFile, dseq: number): void {
  writeSync(record.fd, new Uint8Array([dseq & 0xff]), 0, 1, START_RECORD_STARTED);
}

/** Runs `use` on a fresh record, closed afterwards whatever happens; returns the record. */
function withRecord(use: (record: StartRecordFile) => void): StartRecordFile {
  const record = StartRecordFile.create();
  if (record === undefined) throw new Error('no start record');
  try {
    use(record);
  } finally {
    record.close();
  }
  return record;
}

function byteAt(record: StartRecordFile, position: number): number {
  const byte = new Uint8Array(1);
  expect(readSync(record.fd, byte, 0, 1, position)).toBe(1);
  return byte[0] ?? -1;
}

describe('decodeStartedByte', () => {
  it('names the dseq within 255 above the floor that has this low byte', () => {
    expect(decodeStartedByte(0, 0)).toBe(0);
    expect(decodeStartedByte(5, 0)).toBe(5);
    expect(decodeStartedByte(3, 250)).toBe(259);
    expect(decodeStartedByte(250, 250)).toBe(250);
    expect(decodeStartedByte(249, 250)).toBe(505);
    expect(decodeStartedByte((1_000_000 + 64) & 0xff, 1_000_000)).toBe(1_000_064);
  });
});

describe('StartRecordFile', () => {
  it('starts zeroed, with no name on disk', () => {
    withRecord((record) => {
      expect(byteAt(record, START_RECORD_STARTED)).toBe(0);
      expect(byteAt(record, START_RECORD_FENCE)).toBe(0);
      if (platform() === 'linux') expect(readlinkSync(`/proc/self/fd/${record.fd}`)).toMatch(/ \(deleted\)$/);
    });
  });

  it('fence raises the fence byte and reads the last start the guest published', () => {
    withRecord((record) => {
      // Nothing started yet: the floor itself.
      expect(record.fence(0)).toBe(0);
      expect(byteAt(record, START_RECORD_FENCE)).toBe(1);
      guestStarts(record, 7);
      expect(record.fence(6)).toBe(7);
      // Across the byte's wrap: deliveries 250..320 pending, the guest started 300.
      guestStarts(record, 300);
      expect(record.fence(249)).toBe(300);
    });
  });

  it('is intact with its two bytes, not once the guest wrote past them', () => {
    const record = withRecord((open) => {
      guestStarts(open, 1);
      expect(open.intact()).toBe(true);
      writeSync(open.fd, new Uint8Array([9]), 0, 1, 2);
      expect(open.intact()).toBe(false);
    });
    // Closed: nothing left to check (the host stopped caring about this child).
    expect(record.intact()).toBe(true);
  });

  it('is undefined when the temp dir cannot be written (the transport then goes one input at a time)', () => {
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = '/nonexistent/plugin-seam-test';
    try {
      expect(StartRecordFile.create()).toBeUndefined();
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
  });

  it('close is idempotent; a fence after close throws rather than guess', () => {
    const record = StartRecordFile.create();
    if (record === undefined) throw new Error('no start record');
    record.close();
    record.close();
    expect(() => record.fence(0)).toThrow(/closed/);
  });
});
