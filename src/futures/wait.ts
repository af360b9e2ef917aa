/**
 * `wait` and `asCompleted`: Python's `concurrent.futures.wait` and `as_completed`, on any
 * futures (of one pool or several). Times are milliseconds.
 */
import { argRangeError, argTypeError, TimeoutError } from '../errors.js';
import { longTimeout } from '../shared/clock.js';
import { hold, unhold } from '../shared/keepalive.js';
import { describe, optionsOf, timeoutOf } from '../shared/validate.js';
import { Future } from './future.js';

export const FIRST_COMPLETED = 'FIRST_COMPLETED';
export const FIRST_EXCEPTION = 'FIRST_EXCEPTION';
export const ALL_COMPLETED = 'ALL_COMPLETED';

export type ReturnWhen = typeof FIRST_COMPLETED | typeof FIRST_EXCEPTION | typeof ALL_COMPLETED;

function futuresOf<T>(futures: Iterable<Future<T>>, where: string): Future<T>[] {
  if (futures === null || typeof (futures as Partial<Iterable<unknown>>)?.[Symbol.iterator] !== 'function') {
    throw argTypeError(`Expected the futures of ${where} to be an iterable of Future, got ${describe(futures)}`);
  }
  const list = [...new Set(futures)];
  for (let i = 0; i < list.length; i++) {
    if (!(list[i] instanceof Future)) {
      throw argTypeError(`Expected futures[${i}] of ${where} to be a Future, got ${describe(list[i])}`);
    }
  }
  return list;
}

/** A finished future that raised: Python's `f.exception() is not None`, read without waiting. */
function failed<T>(f: Future<T>): boolean {
  return f._failed();
}

/**
 * Waits until the futures are done (`ALL_COMPLETED`, the default), until any is done
 * (`FIRST_COMPLETED`), or until any raises (`FIRST_EXCEPTION`; all done if none raises), or
 * until `timeout` ms pass. Resolves to the sets of those done and not done (never rejects on a
 * timeout). Python: `concurrent.futures.wait`.
 */
export function wait<T>(
  futures: Iterable<Future<T>>,
  options?: { timeout?: number; returnWhen?: ReturnWhen },
): Promise<{ done: Set<Future<T>>; notDone: Set<Future<T>> }> {
  let list: Future<T>[];
  let timeout: number;
  let returnWhen: ReturnWhen;
  try {
    list = futuresOf(futures, 'wait');
    const o = optionsOf(options, 'wait');
    timeout = timeoutOf(o.timeout);
    returnWhen = (o.returnWhen ?? ALL_COMPLETED) as ReturnWhen;
    if (returnWhen !== FIRST_COMPLETED && returnWhen !== FIRST_EXCEPTION && returnWhen !== ALL_COMPLETED) {
      throw argRangeError(
        `Expected \`returnWhen\` to be FIRST_COMPLETED, FIRST_EXCEPTION or ALL_COMPLETED, got ${describe(o.returnWhen)}`,
      );
    }
  } catch (e) {
    return Promise.reject(e);
  }
  const split = () => {
    const done = new Set<Future<T>>();
    const notDone = new Set<Future<T>>();
    for (const f of list) (f.done() ? done : notDone).add(f);
    return { done, notDone };
  };
  const satisfied = (): boolean => {
    if (returnWhen === FIRST_COMPLETED) return list.some((f) => f.done()) || list.length === 0;
    if (returnWhen === FIRST_EXCEPTION && list.some(failed)) return true;
    return list.every((f) => f.done());
  };
  if (satisfied() || timeout === 0) return Promise.resolve(split());
  return new Promise((resolve) => {
    let finished = false;
    hold();
    let cancel: (() => void) | undefined;
    const end = (): void => {
      if (finished) return;
      finished = true;
      cancel?.();
      unhold();
      resolve(split());
    };
    if (timeout !== Number.POSITIVE_INFINITY) cancel = longTimeout(end, timeout);
    for (const f of list) {
      f.addDoneCallback(() => {
        if (satisfied()) end();
      });
    }
  });
}

/**
 * Yields the futures (the Future objects, not their values) as they complete, those already
 * done first; each once. `timeout` (ms, from the call) makes the iteration throw `TimeoutError`
 * if futures are still pending then. Python: `concurrent.futures.as_completed`.
 */
export function asCompleted<T>(
  futures: Iterable<Future<T>>,
  options?: { timeout?: number },
): AsyncIterableIterator<Future<T>> {
  const list = futuresOf(futures, 'asCompleted');
  const timeout = timeoutOf(optionsOf(options, 'asCompleted').timeout);
  const deadline = timeout === Number.POSITIVE_INFINITY ? timeout : performance.now() + timeout;
  const ready: Future<T>[] = list.filter((f) => f.done());
  let pending = list.length - ready.length;
  let wake: (() => void) | undefined;
  for (const f of list) {
    if (f.done()) continue;
    f.addDoneCallback(() => {
      ready.push(f);
      pending--;
      wake?.();
    });
  }
  let closed = false;
  // A plain iterator, not an async generator: a generator would await each future it yields
  // (a Future is a thenable) and hand out its value instead of the Future itself.
  const iterator: AsyncIterableIterator<Future<T>> = {
    [Symbol.asyncIterator]() {
      return iterator;
    },
    async next(): Promise<IteratorResult<Future<T>>> {
      if (closed) return { value: undefined, done: true };
      while (ready.length === 0) {
        if (pending === 0) {
          closed = true;
          return { value: undefined, done: true };
        }
        const left = deadline - performance.now();
        if (left <= 0) {
          closed = true;
          throw new TimeoutError(`${pending} (of ${list.length}) futures unfinished after ${timeout} ms`);
        }
        hold();
        try {
          await new Promise<void>((resolve) => {
            const cancel = deadline === Number.POSITIVE_INFINITY ? undefined : longTimeout(resolve, left);
            wake = () => {
              cancel?.();
              resolve();
            };
          });
        } finally {
          wake = undefined;
          unhold();
        }
      }
      return { value: ready.shift() as Future<T>, done: false };
    },
    async return(): Promise<IteratorResult<Future<T>>> {
      closed = true;
      return { value: undefined, done: true };
    },
  };
  return iterator;
}
