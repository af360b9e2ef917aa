/**
 * `Lock`: Python's `threading.Lock`, shared across threads.
 *
 * Memory layout (Int32 words after the primitive header):
 * - `STATE`: 0 unlocked; `holder << 1` locked by thread `holder`; `holder << 1 | 1` locked and
 *   maybe contended. Drepper's three-state futex mutex ("Futexes Are Tricky", 2011, mutex #3)
 *   with the holder written by the very CAS that locks it (`shared/mutex.ts`): acquire CASes
 *   0 → holder; a waiter sets the low bit and sleeps while the word is unchanged; release moves to
 *   0 and wakes one sleeper only if the bit was set. Since the holder is never written apart from
 *   the lock, a lock is never held by nobody known: whoever finds its holder died abnormally
 *   takes it over by one CAS (see `owner.ts`).
 * - `WHO…`: which threads are sleeping in an acquire, for `util.inspect` only (`waiters.ts`).
 * - `QUIET`: 1 for the internal lock of another primitive (`Lock._internal()`), written once
 *   before the lock is shared: taking it over from a dead holder is then not warned about, since
 *   the user never made that lock and the owning primitive reports the death its own way.
 *
 * Memory ordering: every transition of `STATE` is a sequentially consistent Atomics operation, so
 * writes made while holding the lock are visible to the next holder.
 */
import { inspect } from 'node:util';
import { deadlineOf } from '../shared/clock.js';
import { type AcquireOptions, acquireOptionsOf } from '../shared/validate.js';
import { K_LOCK, O_ACQUIRE, O_REACQUIRE } from '../shared/records.js';
import { type Park, runAsync, runSync, type Steps } from '../shared/wait.js';
import { ThreadError } from '../errors.js';
import { defineKind } from '../wire/kinds.js';
import { holdSteps, releaseHeld, TIMED_OUT, tryHold } from '../shared/mutex.js';
import { diedAbnormally, nameOfIdent, warnDeadHolder } from './owner.js';
import { brandClass, FIRST_WORD, ME, revivePrimitive, SharedPrimitive } from './primitive.js';
import { type LockLike, rejectSignalInSync, withAcquired, withAcquiredSync } from './locklike.js';
import { countWaiters, enterWait, leaveWait, WAITER_WORDS } from './waiters.js';

const STATE = FIRST_WORD;
const WHO = FIRST_WORD + 1;
const QUIET = WHO + WAITER_WORDS;
const WORDS = QUIET + 1;
/** This thread's value of a locked `STATE`. */
const MINE = ME << 1;

/** Spins (about 1-2 µs) a condition waiter makes on the lock before sleeping on it. */
export const RESTORE_SPIN = 200;

/**
 * A primitive lock: locked or unlocked, not owned by any thread in particular (any thread may
 * release it). Works between async functions of one thread and across threads, mixed freely.
 *
 * - `acquire()` / `acquireSync()`: block until unlocked, then lock; resolve/return `true`.
 * - `{ blocking: false }`: never wait; `false` if it is locked.
 * - `{ timeout }` (milliseconds): give up after that long in total; `false` then.
 * - `{ signal }` (Promise form): abort rejects with the signal's reason; the lock is untouched.
 *
 * If the thread holding it crashes, exits or is terminated, the lock is released and the next
 * waiter gets it (with a warning on stderr). If that thread returns normally the lock stays
 * locked, as in Python. Python: `threading.Lock`.
 *
 * @example
 * const lock = new Lock();
 * await lock.withLock(async () => { counter[0]++; });
 */
export class Lock extends SharedPrimitive implements LockLike {
  constructor(sab?: SharedArrayBuffer) {
    super(WORDS, sab);
  }

  /**
   * @internal A lock inside another primitive (a `Barrier`'s): a dead holder's release is not
   * warned about (the user never saw this lock; the barrier breaks instead).
   */
  static _internal(): Lock {
    const lock = new Lock();
    lock._i32[QUIET] = 1;
    return lock;
  }

  /** Says that a dead holder's hold was taken over, unless this lock is a primitive's own. */
  #warnDeadHolder(holder: number): void {
    if (Atomics.load(this._i32, QUIET) === 0) warnDeadHolder('A Lock', holder);
  }

  /** Acquires the lock, waiting without blocking the event loop. */
  async acquire(options?: AcquireOptions): Promise<boolean> {
    if (options === undefined && Atomics.compareExchange(this._i32, STATE, 0, MINE) === 0) return true;
    const { timeout, signal } = acquireOptionsOf(options, 'Lock.acquire');
    if (signal?.aborted) throw signal.reason;
    if (timeout === 0) return runSync(this._acquireSteps(), 0);
    return runAsync(this._acquireSteps(), deadlineOf(timeout), signal);
  }

  /** Acquires the lock, blocking this thread while it waits (the main thread too). */
  acquireSync(options?: Omit<AcquireOptions, 'signal'>): boolean {
    if (options === undefined && Atomics.compareExchange(this._i32, STATE, 0, MINE) === 0) return true;
    rejectSignalInSync(options, 'Lock.acquireSync');
    const { timeout } = acquireOptionsOf(options, 'Lock.acquireSync');
    return runSync(this._acquireSteps(), deadlineOf(timeout));
  }

  /** Releases the lock; any thread may. Throws `ThreadError` if it is not locked. */
  release(): void {
    if (!releaseHeld(this._i32, STATE)) throw new ThreadError('release unlocked lock');
  }

  /** Whether the lock is held (a lock held by a thread that crashed is released first). */
  locked(): boolean {
    const i32 = this._i32;
    if (Atomics.load(i32, STATE) === 0) return false;
    if (this._reapDeadHolder()) this.release();
    return Atomics.load(i32, STATE) !== 0;
  }

  /** Runs `fn` holding the lock (Python's `with lock:`); releases it even if `fn` throws. */
  withLock<T>(fn: () => T | PromiseLike<T>): Promise<Awaited<T>> {
    return withAcquired(this, fn);
  }

  /** Runs `fn` holding the lock, blocking while it waits; releases it even if `fn` throws. */
  withLockSync<T>(fn: () => T): T {
    return withAcquiredSync(this, fn);
  }

  /** @internal The slow path of acquire; also re-acquires for `Condition.wait`. */
  *_acquireSteps(untimed = false, spin = 0): Steps<boolean> {
    const i32 = this._i32;
    // A short spin before sleeping, for callers that expect the holder to release within
    // microseconds (a notified condition waiter: its notifier releases right after notify).
    if (tryHold(i32, STATE)) return true;
    const token = enterWait(i32, WHO);
    try {
      const park: Park = {
        i32,
        index: STATE,
        value: 0,
        poll: true,
        untimed,
        rec: { kind: K_LOCK, op: untimed ? O_REACQUIRE : O_ACQUIRE, src: this },
      };
      const got = yield* holdSteps(i32, STATE, park, diedAbnormally, spin);
      if (got > 0) this.#warnDeadHolder(got);
      return got !== TIMED_OUT;
    } finally {
      leaveWait(i32, WHO, token);
    }
  }

  /**
   * If the holder died abnormally, takes the lock over for this thread (it stays locked) and
   * returns true. The CAS from the state naming the dead holder makes exactly one observer win.
   */
  _reapDeadHolder(): boolean {
    const i32 = this._i32;
    const c = Atomics.load(i32, STATE);
    const holder = c >>> 1;
    if (holder === 0 || holder === ME || !diedAbnormally(holder)) return false;
    if (Atomics.compareExchange(i32, STATE, c, MINE | 1) !== c) return false;
    this.#warnDeadHolder(holder);
    return true;
  }

  /** @internal For the wait records: the thread holding it (0: free, or changing hands). */
  _diagOwner(): number {
    return Atomics.load(this._i32, STATE) >>> 1;
  }

  /** @internal Whether thread `ident` acquired it (and has not released it). */
  _heldBy(ident: number): boolean {
    return Atomics.load(this._i32, STATE) >>> 1 === ident;
  }

  /** @internal */
  _isOwned(): boolean {
    return Atomics.load(this._i32, STATE) !== 0;
  }

  /** @internal Releases for `Condition.wait`; returns what `_acquireRestoreSteps` needs. */
  _releaseSave(): number {
    this.release();
    return 0;
  }

  /** @internal */
  _acquireRestoreSteps(_saved: number): Steps<boolean> {
    return this._acquireSteps(true, RESTORE_SPIN);
  }

  /** @internal */
  _kind(): string {
    return 'Lock';
  }

  [inspect.custom](): string {
    const i32 = this._i32;
    const owner = Atomics.load(i32, STATE) >>> 1;
    const waiters = countWaiters(i32, WHO);
    return owner === 0
      ? `<Lock unlocked waiters=${waiters}>`
      : `<Lock locked owner=${nameOfIdent(owner)} waiters=${waiters}>`;
  }
}
brandClass(Lock, 'Lock');
defineKind('Lock', (d) => revivePrimitive(d.sab, (sab) => new Lock(sab)));
