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
import { isMainThread } from 'node:worker_threads';
import { now } from './clock.js';
import { hold, unhold } from './keepalive.js';
import { H_EXIT_CODE, runtime } from './runtime.js';
import {
  closeRecord,
  openRecord,
  RECORD_AFTER_MS,
  REFRESH_MS,
  SIGNAL,
  TIMED,
  updateRecord,
  type WaitDesc,
} from './records.js';
import { supervisorPort } from './supervisor-client.js';

/** A request to sleep while `i32[index] === value`. */
export interface Park {
  i32: Int32Array;
  index: number;
  value: number;
  /** Ignore the deadline and the signal: used by clean-up that must complete (re-acquiring a lock). */
  untimed?: boolean;
  /** Wake every POLL_MS to let the algorithm re-check something no notify announces (a holder's death). */
  poll?: boolean;
  /** What the wait is for, for the wait records (`records.ts`); a park without it is never recorded. */
  rec?: WaitDesc;
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

/**
 * With `THREADKIT_DEADLOCK=abort`, the watchdog (in the supervisor) ends the process through the
 * main thread: a main thread blocked in a sync wait looks at `H_EXIT_CODE` at least this often.
 */
const abortWatch = isMainThread && process.env.THREADKIT_DEADLOCK === 'abort';
/**
 * The watchdog runs in the supervisor, which starts with the first thread: with the watchdog on,
 * a program whose main thread falls asleep before it ever started one (every live thread asleep:
 * Go's case) must start it anyway.
 */
const watchdog = abortWatch || (isMainThread && process.env.THREADKIT_DEADLOCK === 'warn');
// And it starts it at once: on a loaded machine a supervisor started only when the main thread
// falls asleep takes most of a second to boot before its first look.
if (watchdog) supervisorPort();
const ABORT_LOOK_MS = 100;

function exitIfAsked(): void {
  const code = Atomics.load(runtime().i32, H_EXIT_CODE);
  if (code !== 0) process.exit(code);
}

/**
 * Frames of threadkit's own files and of Node's: not what a reader of a wait's stack wants.
 * Built, this module is a chunk at the top of `dist/`; run from source, it is in `src/shared/`.
 * Both folders are left out, whichever runs: with source maps on (tsx turns them on), frames of
 * `dist/` read as `src/`. Nothing else of the package is: a program inside it (its tests,
 * examples) keeps its frames.
 */
const packageRoot = new URL(/\/shared\/wait\.[cm]?[jt]s$/.test(import.meta.url) ? '../..' : '..', import.meta.url);
const ownFiles = [new URL('dist/', packageRoot), new URL('src/', packageRoot)];
const ownDirs = ownFiles.flatMap((u) => [u.href, decodeURIComponent(u.pathname)]);

function callerStack(trace: { stack?: string }): string {
  const lines = (trace.stack ?? '').split('\n').slice(1);
  return lines.filter((l) => !ownDirs.some((d) => l.includes(d)) && !/\(node:|at node:/.test(l)).join('\n');
}

/**
 * The record of one wait (`records.ts`): made once it has stayed parked `RECORD_AFTER_MS` (the
 * first slice is cut there), kept current while it lasts, removed when it ends. A wait whose
 * parks carry no `rec` is never recorded.
 */
class Recorder {
  #slot = -1;
  #started = -1;
  #desc: WaitDesc | undefined;

  constructor(
    readonly sync: boolean,
    readonly deadline: number,
    readonly signal: boolean,
    /** The caller's stack, captured before the first await (Promise form). */
    readonly trace: { stack?: string } | undefined,
  ) {}

  /**
   * Before a park of `slice` ms: records if due; returns the slice, cut to come back when due,
   * and once recorded, for an endless `…Sync` wait (the only kind that can make every thread
   * asleep), to come back every `REFRESH_MS` to refresh the record (`after`).
   */
  before(p: Park, slice: number): number {
    const desc = p.rec as WaitDesc;
    if (this.#slot >= 0) {
      if (desc !== this.#desc) {
        this.#desc = desc;
        updateRecord(this.#slot, desc, p.untimed === true);
      }
      return this.#refreshed(p, slice);
    }
    if (slice <= 0) return slice;
    const t = now();
    if (this.#started < 0) this.#started = t;
    const due = this.#started + RECORD_AFTER_MS - t;
    if (due > 0) return Math.min(slice, due);
    this.#desc = desc;
    const timed = !p.untimed && this.deadline !== Number.POSITIVE_INFINITY;
    const flags = (timed ? TIMED : 0) | (this.signal && !p.untimed ? SIGNAL : 0);
    const since = performance.timeOrigin + this.#started;
    const stack = callerStack(this.trace ?? new Error());
    this.#slot = openRecord(this.sync, desc, flags, since, timed ? this.deadline - this.#started : 0, stack);
    return this.#refreshed(p, slice);
  }

  #refreshed(p: Park, slice: number): number {
    const endless = p.untimed === true || this.deadline === Number.POSITIVE_INFINITY;
    return this.sync && endless ? Math.min(slice, REFRESH_MS) : slice;
  }

  /** After a park: the owner of what it waits for may have changed. */
  after(p: Park, outcome: Outcome): void {
    if (this.#slot >= 0) updateRecord(this.#slot, p.rec as WaitDesc, p.untimed === true, outcome === 'woken');
  }

  end(): void {
    closeRecord(this.#slot);
    this.#slot = -1;
  }
}

/** Runs blocking steps on this thread, with `Atomics.wait`. */
export function runSync<T>(steps: Steps<T>, deadline: number): T {
  let r = steps.next();
  let rec: Recorder | undefined;
  try {
    while (!r.done) {
      const p = r.value;
      if ('promise' in p) {
        r = steps.throw(new TypeError(p.syncMessage));
        continue;
      }
      let slice = sliceOf(p, deadline);
      if (p.rec !== undefined) {
        rec ??= new Recorder(true, deadline, false, undefined);
        slice = rec.before(p, slice);
      }
      if (abortWatch) slice = Math.min(slice, ABORT_LOOK_MS);
      let outcome: Outcome;
      if (slice <= 0) outcome = 'timeout';
      else {
        const res = Atomics.wait(p.i32, p.index, p.value, slice);
        outcome = res === 'timed-out' ? afterTimeout(p, deadline) : 'woken';
        if (p.rec !== undefined) rec?.after(p, outcome);
        if (abortWatch) exitIfAsked();
      }
      r = steps.next(outcome);
    }
    return r.value;
  } finally {
    rec?.end();
  }
}

/** Runs blocking steps without blocking the event loop, with `Atomics.waitAsync`. */
export async function runAsync<T>(steps: Steps<T>, deadline: number, signal?: AbortSignal): Promise<T> {
  hold();
  let rec: Recorder | undefined;
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
        } else {
          let cap = Number.POSITIVE_INFINITY;
          if (p.rec !== undefined) {
            // The caller's frames are gone after the first await: take them now (formatted
            // only if the wait lasts long enough to be recorded).
            rec ??= new Recorder(false, deadline, signal !== undefined, new Error());
            cap = rec.before(p, sliceOf(p, deadline, live !== undefined));
          }
          outcome = await parkAsync(p, deadline, p.untimed ? undefined : live, cap);
          if (p.rec !== undefined) rec?.after(p, outcome);
        }
      } catch (reason) {
        live = undefined; // the signal fires once; clean-up parks are not interrupted again
        r = steps.throw(reason);
        continue;
      }
      r = steps.next(outcome);
    }
    return r.value;
  } finally {
    rec?.end();
    unhold();
  }
}

function parkAsync(
  p: Park,
  deadline: number,
  signal: AbortSignal | undefined,
  cap: number,
): Promise<Outcome> | Outcome {
  if (signal?.aborted) throw signal.reason;
  const slice = Math.min(sliceOf(p, deadline, signal !== undefined), cap);
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
