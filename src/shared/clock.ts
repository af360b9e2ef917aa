/** The one monotonic clock every deadline is computed from (milliseconds). */
export const now: () => number = performance.now.bind(performance);

/** The absolute deadline of a relative timeout in milliseconds (Infinity stays Infinity). */
export function deadlineOf(timeout: number): number {
  return timeout === Number.POSITIVE_INFINITY ? timeout : now() + timeout;
}
