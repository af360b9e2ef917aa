/**
 * `Semaphore` and `BoundedSemaphore`: Python's counting semaphores, shared across threads.
 *
 * Memory layout (Int32 words after the primitive header):
 * - `VALUE`: the permits available, >= 0. Taken by CAS (v → v-1 only if v > 0), so a permit is
 *   never lost or handed out twice however many threads race.
 * - `WAITERS`: acquires that may be sleeping. A waiter raises it *before* its last look at
 *   `VALUE`, and a releaser adds to `VALUE` *before* reading it, so a release either sees the
 *   waiter and wakes it, or the waiter sees the permit; with `Atomics.wait`'s compare-and-sleep
 *   on `VALUE === 0`, no wake-up is lost.
 * - `WHO…`: which threads wait, for `util.inspect` (`waiters.ts`); `WAITERS` stays the notify hint.
 * - `BOUND`: the initial value of a `BoundedSemaphore` (-1: unbounded). A bounded release checks
 *   the bound and adds in one CAS, so concurrent releases from several threads cannot overshoot.
 *
 * This is a direct Atomics algorithm rather than CPython's `Condition(Lock())` composition: the
 * conformance suite holds it to the same behaviour, and it needs no lock on the fast path.
 */
import { inspect } from 'node:util';
import { deadlineOf } from '../shared/clock.js';
import { type AcquireOptions, acquireOptionsOf, countOf } from '../shared/validate.js';
import { K_BOUNDED, K_SEMAPHORE, O_ACQUIRE } from '../shared/records.js';
import { type Park, runAsync, runSync, type Steps } from '../shared/wait.js';
import { argRangeError } from '../errors.js';
import { defineKind } from '../wire/kinds.js';
import { rejectSignalInSync, withAcquired, withAcquiredSync } from './locklike.js';
import { countWaiters, enterWait, leaveWait, WAITER_WORDS } from './waiters.js';
import { brandClass, FIRST_WORD, revivePrimitive, SharedPrimitive } from './primitive.js';

const VALUE = FIRST_WORD;
const WAITERS = FIRST_WORD + 1;
const BOUND = FIRST_WORD + 2;
const WHO = FIRST_WORD + 3;
const WORDS = WHO + WAITER_WORDS;

const MAX = 0x7fffffff;

/**
 * A counter of permits: `acquire` takes one, waiting while there are none; `release(n)` returns n
 * and wakes up to n waiters. Options and return values of `acquire` are those of `Lock`.
 * `new Semaphore(value = 1)`; a negative value throws `RangeError`. Python: `threading.Semaphore`.
 */
export class Semaphore extends SharedPrimitive {
  constructor(value = 1, sab?: SharedArrayBuffer) {
    super(WORDS, sab);
    if (sab === undefined) {
      countOf(value, 'value', 0);
      if (value > MAX) throw argRangeError(`Expected \`value\` to be at most ${MAX}, got ${value}`);
      this._i32[VALUE] = value;
      this._i32[BOUND] = -1;
    }
  }

  async acquire(options?: AcquireOptions): Promise<boolean> {
    if (options === undefined && this._tryTake()) return true;
    const { timeout, signal } = acquireOptionsOf(options, `${this._kind()}.acquire`);
    if (signal?.aborted) throw signal.reason;
    if (timeout === 0) return this._tryTake();
    return runAsync(this._acquireSteps(), deadlineOf(timeout), signal);
  }

  acquireSync(options?: Omit<AcquireOptions, 'signal'>): boolean {
    if (options === undefined && this._tryTake()) return true;
    rejectSignalInSync(options, `${this._kind()}.acquireSync`);
    const { timeout } = acquireOptionsOf(options, `${this._kind()}.acquireSync`);
    if (timeout === 0) return this._tryTake();
    return runSync(this._acquireSteps(), deadlineOf(timeout));
  }

  /** Returns `n` permits (default 1) and wakes up to `n` waiters. `n` < 1 throws `RangeError`. */
  release(n = 1): void {
    if (n !== 1) countOf(n, 'n', 1);
    const i32 = this._i32;
    const bound = i32[BOUND] as number;
    const limit = bound < 0 ? MAX : bound;
    // Check and add in one CAS: concurrent releases from several threads cannot overshoot.
    // The first CAS guesses the value this thread last saw (right when one thread acquires and
    // releases in turn, and cheaper than a load then a CAS); a wrong guess costs one retry with
    // the value the CAS returned.
    let v = this._seen;
    for (;;) {
      if (v + n > limit) {
        v = Atomics.load(i32, VALUE);
        if (v + n > limit) {
          throw argRangeError(
            bound < 0 ? `Semaphore value would exceed ${MAX}` : `Semaphore released too many times (bound ${bound})`,
          );
        }
      }
      const seen = Atomics.compareExchange(i32, VALUE, v, v + n);
      if (seen === v) break;
      v = seen;
    }
    this._seen = v + n;
    if (Atomics.load(i32, WAITERS) > 0) Atomics.notify(i32, VALUE, n);
  }

  /** Runs `fn` holding a permit; returns it even if `fn` throws. */
  withLock<T>(fn: () => T | PromiseLike<T>): Promise<Awaited<T>> {
    return withAcquired(this, fn);
  }

  /** Runs `fn` holding a permit, blocking while it waits; returns it even if `fn` throws. */
  withLockSync<T>(fn: () => T): T {
    return withAcquiredSync(this, fn);
  }

  /** The permits available now (a snapshot). */
  get value(): number {
    return Atomics.load(this._i32, VALUE);
  }

  private _tryTake(): boolean {
    const i32 = this._i32;
    // As in release: guess the last value seen here, let a failed CAS tell the real one.
    let v = this._seen;
    if (v <= 0) v = Atomics.load(i32, VALUE);
    while (v > 0) {
      const seen = Atomics.compareExchange(i32, VALUE, v, v - 1);
      if (seen === v) {
        this._seen = v - 1;
        return true;
      }
      v = seen;
    }
    this._seen = v;
    return false;
  }

  /** The value this thread last saw: a guess for the next CAS, never trusted without one. */
  private _seen = 1;

  private *_acquireSteps(): Steps<boolean> {
    const i32 = this._i32;
    Atomics.add(i32, WAITERS, 1);
    const token = enterWait(i32, WHO);
    try {
      // poll: a release's notify may go to an abandoned waitAsync of a thread that is blocked
      // and cannot pass it on; a periodic re-check of VALUE bounds that delay.
      const kind = this._kind() === 'BoundedSemaphore' ? K_BOUNDED : K_SEMAPHORE;
      const park: Park = { i32, index: VALUE, value: 0, poll: true, rec: { kind, op: O_ACQUIRE, src: this } };
      for (;;) {
        if (this._tryTake()) return true;
        if ((yield park) === 'timeout') return this._tryTake();
      }
    } finally {
      Atomics.sub(i32, WAITERS, 1);
      leaveWait(i32, WHO, token);
    }
  }

  /** @internal */
  _kind(): string {
    return 'Semaphore';
  }

  [inspect.custom](): string {
    const i32 = this._i32;
    const bound = i32[BOUND] as number;
    return `<${this._kind()} value=${Atomics.load(i32, VALUE)}${bound >= 0 ? `/${bound}` : ''} waiters=${countWaiters(i32, WHO)}>`;
  }
}
brandClass(Semaphore, 'Semaphore');
defineKind('Semaphore', (d) => revivePrimitive(d.sab, (sab) => new Semaphore(0, sab)));

/**
 * A semaphore that refuses to be released above its initial value: `release()` beyond it throws
 * `RangeError` (Python's `ValueError`), checked atomically with the increment, so a release from
 * another thread is legal and still exact. Python: `threading.BoundedSemaphore`.
 */
export class BoundedSemaphore extends Semaphore {
  constructor(value = 1, sab?: SharedArrayBuffer) {
    super(value, sab);
    if (sab === undefined) this._i32[BOUND] = value;
  }

  /** @internal */
  override _kind(): string {
    return 'BoundedSemaphore';
  }
}
brandClass(BoundedSemaphore, 'BoundedSemaphore');
defineKind('BoundedSemaphore', (d) => revivePrimitive(d.sab, (sab) => new BoundedSemaphore(0, sab)));
