// @ts-check
/**
 * Unix domain socket peer (child process). Connects to argv[2].
 * Wire format, both directions: u32le bodyLength, then body.
 *   request body: u32le id, payload bytes (streamed; every 4096th byte touched)
 *   reply body:   u32le id
 * Replies produced while handling one 'data' chunk are corked into one write.
 * Exits when the host ends the connection.
 */
import net from 'node:net';
import process from 'node:process';
import { Buffer } from 'node:buffer';

const path = process.argv[2];
if (!path) throw new Error('usage: uds-child.js <socket path>');

const sock = net.connect(path);
const header = Buffer.alloc(8);
let headerFill = 0;
let remaining = -1; // bytes of payload still to read; -1 = reading header
let bodyPos = 0;
let id = 0;
let sum = 0;

/** @param {number} replyId */
function reply(replyId) {
  const b = Buffer.allocUnsafe(8);
  b.writeUInt32LE(4, 0);
  b.writeUInt32LE(replyId, 4);
  sock.write(b);
}

sock.on('data', (/** @type {Buffer} */ chunk) => {
  sock.cork();
  let p = 0;
  while (p < chunk.length) {
    if (remaining < 0) {
      const take = Math.min(8 - headerFill, chunk.length - p);
      chunk.copy(header, headerFill, p, p + take);
      headerFill += take;
      p += take;
      if (headerFill === 8) {
        remaining = header.readUInt32LE(0) - 4;
        id = header.readUInt32LE(4);
        bodyPos = 0;
        headerFill = 0;
      }
    } else {
      const take = Math.min(remaining, chunk.length - p);
      // touch body offsets that are multiples of 4096
      let first = Math.ceil(bodyPos / 4096) * 4096;
      for (; first < bodyPos + take; first += 4096) sum += chunk[p + first - bodyPos];
      bodyPos += take;
      remaining -= take;
      p += take;
    }
    if (remaining === 0) {
      reply(id);
      remaining = -1;
    }
  }
  sock.uncork();
});
sock.on('end', () => {
  sock.end();
});
sock.on('close', () => {
  if (process.env.BENCH_DEBUG) process.stderr.write(`uds-child: touch sum ${sum}\n`);
});
sock.on('error', (err) => {
  process.stderr.write(`uds-child: ${err.message}\n`);
  process.exit(1);
});
