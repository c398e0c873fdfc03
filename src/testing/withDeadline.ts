/** A promise the kit gave up waiting for: the runtime's own deadlines should have fired first. */
export class KitDeadlineExceeded extends Error {
  override readonly name = 'KitDeadlineExceeded';
}

/**
 * `promise`, or a rejection with {@link KitDeadlineExceeded} after `ms` of real time. The
 * runtime bounds every call the kit makes (start, stop and input deadlines); this outer bound
 * only keeps a check from hanging if that guarantee were ever broken.
 */
export async function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new KitDeadlineExceeded(`${what} did not settle within ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
