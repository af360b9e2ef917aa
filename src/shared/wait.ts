/**
 * One algorithm, two drivers: how every blocking call gets its sync and Promise forms.
 *
 * A blocking algorithm is written once, as a generator of `Steps`: it checks its predicate and,
 * when it must wait, yields a `Park` (wait while `i32[index] === value`). The driver parks it and
 * sends back an `Outcome`:
 * - `'woken'`: notified, or the word had already changed. A hint: re-check the predicate.
 * - `'poll'`: a wait slice ended before the deadline (only for parks with `poll: true`, and for
 *   untimed parks). The algorithm re-checks, e.g. whether the holder of a lock has died.
 * - `'timeout'`: the deadline has passed. The algorithm cleans up and returns its failure value.
 *
 * `runSync` parks with `Atomics.wait` (blocks the thread); `runAsync` with `Atomics.waitAsync`
 * (never blocks the event loop) and observes an AbortSignal: on abort it throws the signal's
 * reason *into* the generator, whose `finally` restores the primitive (it may park again, for
 * instance to re-acquire a condition's lock; those parks are `untimed` and ignore the signal).
 *
 * The deadline is absolute, on the monotonic clock: however many times a waiter wakes early or
 * spuriously, the total budget never restarts.
 */
import { now } from './clock.js';
import { hold, unhold } from './keepalive.js';

/** A request to sleep while `i32[index] === value`. */
export interface Park {
  i32: Int32Array;
  index: number;
  value: number;
  /** Ignore the deadline and the signal: used by clean-up that must complete (re-acquiring a lock). */
  untimed?: boolean;
  /** Wake every POLL_MS to let the algorithm re-check something no notify announces (a holder's death). */
  poll?: boolean;
}

/**
 * A request to await a promise (a barrier's async action). The Promise driver awaits it, stores
 * its value in `value` and answers `'woken'` (or throws its rejection into the steps); the sync
 * driver cannot, and throws a `TypeError` into the steps instead.
 */
export interface Pending {
  promise: PromiseLike<unknown>;
  value?: unknown;
  /** What the sync driver's TypeError says. */
  syncMessage: string;
}

export type Outcome = 'woken' | 'poll' | 'timeout';
export type Steps<T> = Generator<Park | Pending, T, Outcome>;

/** How often a waiter re-checks whether the thread it waits for has died. */
export const POLL_MS = 50;

function sliceOf(p: Park, deadline: number, abortable = false): number {
  const remaining = p.untimed ? Number.POSITIVE_INFINITY : deadline - now();
  if (remaining <= 0) return 0;
  // An abortable wait is sliced too: a waitAsync cannot be withdrawn, and an abandoned one must
  // not stay registered on the word (holding memory, taking notifies) for longer than a slice.
  return p.poll || abortable ? Math.min(remaining, POLL_MS) : remaining;
}

/** One 'abort' listener per signal, however many waits share it (no MaxListeners warning). */
const aborters = new WeakMap<AbortSignal, Set<() => void>>();

function onAbort(signal: AbortSignal, fn: () => void): () => void {
  let set = aborters.get(signal);
  if (set === undefined) {
    const fns = new Set<() => void>();
    set = fns;
    aborters.set(signal, fns);
    signal.addEventListener(
      'abort',
      () => {
        for (const f of [...fns]) f();
        fns.clear();
      },
      { once: true },
    );
  }
  const s = set;
  s.add(fn);
  return () => s.delete(fn);
}

function afterTimeout(p: Park, deadline: number): Outcome {
  return p.untimed || now() < deadline ? 'poll' : 'timeout';
}

/** Runs blocking steps on this thread, with `Atomics.wait`. */
export function runSync<T>(steps: Steps<T>, deadline: number): T {
  let r = steps.next();
  while (!r.done) {
    const p = r.value;
    if ('promise' in p) {
      r = steps.throw(new TypeError(p.syncMessage));
      continue;
    }
    const slice = sliceOf(p, deadline);
    let outcome: Outcome;
    if (slice <= 0) outcome = 'timeout';
    else {
      const res = Atomics.wait(p.i32, p.index, p.value, slice);
      outcome = res === 'timed-out' ? afterTimeout(p, deadline) : 'woken';
    }
    r = steps.next(outcome);
  }
  return r.value;
}

/** Runs blocking steps without blocking the event loop, with `Atomics.waitAsync`. */
export async function runAsync<T>(steps: Steps<T>, deadline: number, signal?: AbortSignal): Promise<T> {
  hold();
  try {
    let r = steps.next();
    let live = signal;
    while (!r.done) {
      const p = r.value;
      let outcome: Outcome;
      try {
        if ('promise' in p) {
          p.value = await p.promise;
          outcome = 'woken';
        } else outcome = await parkAsync(p, deadline, p.untimed ? undefined : live);
      } catch (reason) {
        live = undefined; // the signal fires once; clean-up parks are not interrupted again
        r = steps.throw(reason);
        continue;
      }
      r = steps.next(outcome);
    }
    return r.value;
  } finally {
    unhold();
  }
}

function parkAsync(p: Park, deadline: number, signal: AbortSignal | undefined): Promise<Outcome> | Outcome {
  if (signal?.aborted) throw signal.reason;
  const slice = sliceOf(p, deadline, signal !== undefined);
  if (slice <= 0) return 'timeout';
  const res = Atomics.waitAsync(p.i32, p.index, p.value, slice);
  if (!res.async) return res.value === 'timed-out' ? afterTimeout(p, deadline) : 'woken';
  if (signal === undefined) {
    return res.value.then((v) => (v === 'timed-out' ? afterTimeout(p, deadline) : 'woken'));
  }
  return new Promise<Outcome>((resolve, reject) => {
    let abandoned = false;
    const forget = onAbort(signal, () => {
      abandoned = true;
      reject(signal.reason);
    });
    void res.value.then((v) => {
      forget();
      if (!abandoned) resolve(v === 'timed-out' ? afterTimeout(p, deadline) : 'woken');
      // A waitAsync cannot be withdrawn. If this abandoned one swallowed a notify meant for a
      // real waiter, pass it on, or that waiter would sleep until its next poll.
      else if (v === 'ok') Atomics.notify(p.i32, p.index, 1);
    });
  });
}
