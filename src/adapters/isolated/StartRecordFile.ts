import { closeSync, fstatSync, mkdtempSync, openSync, readSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { START_RECORD_BYTES, START_RECORD_FENCE, START_RECORD_STARTED, decodeStartedByte } from '../protocol.js';

/**
 * The host's end of a copy-transport start record (see START_RECORD_STARTED in protocol.ts):
 * what lets a plugin process without shared memory hold many deliveries at once and still
 * tell, after it died, which of them it never started (those go to the next generation).
 * One per generation; the file is unlinked before the child is spawned, so nothing is left
 * on disk whatever happens to either process.
 */
export class StartRecordFile {
  /** The descriptor the child inherits (as CHILD_FD_START_RECORD). */
  readonly fd: number;
  #closed = false;

  private constructor(fd: number) {
    this.fd = fd;
  }

  /**
   * Creates the record in a fresh private directory of the temp dir (mode 0600), zeroed, and
   * unlinks it. Undefined when that fails (no writable temp dir, out of descriptors): the
   * transport then hands over one delivery at a time, which needs no record.
   */
  static create(): StartRecordFile | undefined {
    let dir: string;
    try {
      dir = mkdtempSync(join(tmpdir(), 'plugin-seam-'));
    } catch {
      return undefined;
    }
    let fd: number | undefined;
    try {
      const path = join(dir, 'start-record');
      fd = openSync(path, 'wx+', 0o600);
      unlinkSync(path);
      writeSync(fd, new Uint8Array(START_RECORD_BYTES), 0, START_RECORD_BYTES, 0);
      return new StartRecordFile(fd);
    } catch {
      if (fd !== undefined) closeSync(fd);
      return undefined;
    } finally {
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        // A directory of the temp dir we could not remove: left for the system to clean.
      }
    }
  }

  /**
   * Raises the fence, then reads which delivery the guest started last: from here on the
   * guest starts nothing (it reads the fence after each start it publishes). `floor` is the
   * last `dseq` the guest is known to have started (every delivery up to it settled).
   */
  fence(floor: number): number {
    // Never through a closed descriptor: its number may name another file by now.
    if (this.#closed) throw new Error('the start record is closed');
    writeSync(this.fd, FENCE_RAISED, 0, 1, START_RECORD_FENCE);
    const byte = new Uint8Array(1);
    readSync(this.fd, byte, 0, 1, START_RECORD_STARTED);
    return decodeStartedByte(byte[0] ?? 0, floor);
  }

  /**
   * Whether the file still has its two bytes. The child may write to its descriptor whatever
   * Node's permission flags say (they check paths, not inherited descriptors): a record it
   * grew is space it is taking on the host's temp dir, and a broken protocol.
   */
  intact(): boolean {
    if (this.#closed) return true;
    try {
      return fstatSync(this.fd).size === START_RECORD_BYTES;
    } catch {
      // Called from a timer: a record that cannot be checked ends the child, never the host.
      return false;
    }
  }

  /** Closes the host's descriptor (idempotent, never throws); the child holds its own until it exits. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      closeSync(this.fd);
    } catch {
      // Our own descriptor, open until now: nothing a failed close could leave to undo.
    }
  }
}

const FENCE_RAISED = new Uint8Array([1]);
