// @ts-check
/**
 * Touch a frame the way a consumer minimally would: read every 4096th byte
 * (one byte per page) and return the sum, so the bytes must really be there.
 * @param {Uint8Array} u8
 * @param {number} [start]
 * @param {number} [length]
 */
export function touch(u8, start = 0, length = u8.length - start) {
  let sum = 0;
  const end = start + length;
  for (let i = start; i < end; i += 4096) sum += u8[i];
  return sum | 0;
}
