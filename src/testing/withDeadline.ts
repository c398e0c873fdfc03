/** The longest delay a Node timer holds (2^31 - 1 ms, ~24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

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
  // The runtime's longest deadline plus the kit's slack would overflow a timer, which Node
  // fires after 1 ms instead: a correct plugin failed at once.
  const bound = Math.min(ms, MAX_TIMER_MS);
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new KitDeadlineExceeded(`${what} did not settle within ${bound} ms`));
    }, bound);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
