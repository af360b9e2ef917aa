/** The one monotonic clock every deadline is computed from (milliseconds). */
export const now: () => number = performance.now.bind(performance);

/** The absolute deadline of a relative timeout in milliseconds (Infinity stays Infinity). */
export function deadlineOf(timeout: number): number {
  return timeout === Number.POSITIVE_INFINITY ? timeout : now() + timeout;
}

/** The longest delay `setTimeout` takes; a longer one fires at once (TimeoutOverflowWarning). */
const MAX_TIMER_MS = 0x7fff_ffff;

/**
 * `setTimeout` for any delay in milliseconds (a timeout of a week, or `Number.MAX_SAFE_INTEGER`,
 * must not fire at once): longer delays are chained from timers Node accepts. Returns the cancel.
 * The timer is referenced, as a pending wait keeps the process alive.
 */
export function longTimeout(fn: () => void, ms: number): () => void {
  const deadline = now() + ms;
  let timer: ReturnType<typeof setTimeout>;
  const arm = (): void => {
    const left = deadline - now();
    timer = left > MAX_TIMER_MS ? setTimeout(arm, MAX_TIMER_MS) : setTimeout(fn, Math.max(0, left));
  };
  arm();
  return () => clearTimeout(timer);
}
