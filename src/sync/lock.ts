/**
 * `Lock`: Python's `threading.Lock`, shared across threads.
 *
 * Memory layout (Int32 words after the primitive header):
 * - `STATE`: 0 unlocked, 1 locked, 2 locked and maybe contended. The three-state futex mutex of
 *   Ulrich Drepper, "Futexes Are Tricky" (2011), mutex #3: acquire CASes 0→1; a waiter swaps in 2
 *   and sleeps while it reads 2; release moves to 0 and wakes one sleeper only if it saw 2.
 * - `OWNER`: ident of the thread that acquired it (0 while changing hands). Written after the
 *   acquiring CAS and cleared before the releasing one, so a reader that finds a dead ident there
 *   knows no release happened since that thread acquired it (see `owner.ts`).
 * - `WHO…`: which threads are sleeping in an acquire, for `util.inspect` only (`waiters.ts`).
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
import { diedAbnormally, nameOfIdent, takeOver, warnDeadHolder } from './owner.js';
import { brandClass, FIRST_WORD, ME, revivePrimitive, SharedPrimitive } from './primitive.js';
import { type LockLike, rejectSignalInSync, withAcquired, withAcquiredSync } from './locklike.js';
import { countWaiters, enterWait, leaveWait, WAITER_WORDS } from './waiters.js';

const STATE = FIRST_WORD;
const OWNER = FIRST_WORD + 1;
const WHO = FIRST_WORD + 2;
const WORDS = WHO + WAITER_WORDS;

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

  /** Acquires the lock, waiting without blocking the event loop. */
  async acquire(options?: AcquireOptions): Promise<boolean> {
    const i32 = this._i32;
    if (options === undefined && Atomics.compareExchange(i32, STATE, 0, 1) === 0) {
      i32[OWNER] = ME;
      return true;
    }
    const { timeout, signal } = acquireOptionsOf(options, 'Lock.acquire');
    if (signal?.aborted) throw signal.reason;
    if (timeout === 0) return runSync(this._acquireSteps(), 0);
    return runAsync(this._acquireSteps(), deadlineOf(timeout), signal);
  }

  /** Acquires the lock, blocking this thread while it waits (the main thread too). */
  acquireSync(options?: Omit<AcquireOptions, 'signal'>): boolean {
    const i32 = this._i32;
    if (options === undefined && Atomics.compareExchange(i32, STATE, 0, 1) === 0) {
      i32[OWNER] = ME;
      return true;
    }
    rejectSignalInSync(options, 'Lock.acquireSync');
    const { timeout } = acquireOptionsOf(options, 'Lock.acquireSync');
    return runSync(this._acquireSteps(), deadlineOf(timeout));
  }

  /** Releases the lock; any thread may. Throws `ThreadError` if it is not locked. */
  release(): void {
    const i32 = this._i32;
    i32[OWNER] = 0;
    for (;;) {
      const c = Atomics.compareExchange(i32, STATE, 1, 0);
      if (c === 1) return;
      if (c === 0) throw new ThreadError('release unlocked lock');
      if (Atomics.compareExchange(i32, STATE, 2, 0) === 2) {
        Atomics.notify(i32, STATE, 1);
        return;
      }
    }
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
    let c = Atomics.compareExchange(i32, STATE, 0, 1);
    // A short spin before sleeping, for callers that expect the holder to release within
    // microseconds (a notified condition waiter: its notifier releases right after notify).
    for (let k = 0; c !== 0 && k < spin; k++) {
      if (Atomics.load(i32, STATE) === 0) c = Atomics.compareExchange(i32, STATE, 0, 1);
    }
    if (c === 0) {
      i32[OWNER] = ME;
      return true;
    }
    const token = enterWait(i32, WHO);
    try {
      const park: Park = {
        i32,
        index: STATE,
        value: 2,
        poll: true,
        untimed,
        rec: { kind: K_LOCK, op: untimed ? O_REACQUIRE : O_ACQUIRE, src: this },
      };
      if (c !== 2) c = Atomics.exchange(i32, STATE, 2);
      while (c !== 0) {
        const outcome = yield park;
        if (outcome !== 'woken' && this._reapDeadHolder()) return true;
        if (outcome === 'timeout') return false;
        c = Atomics.exchange(i32, STATE, 2);
      }
      i32[OWNER] = ME;
      return true;
    } finally {
      leaveWait(i32, WHO, token);
    }
  }

  /**
   * If the holder died abnormally, takes the lock over for this thread (it stays locked) and
   * returns true. The CAS on OWNER makes exactly one observer win.
   */
  _reapDeadHolder(): boolean {
    const i32 = this._i32;
    const owner = Atomics.load(i32, OWNER);
    if (owner === 0 || owner === ME || !diedAbnormally(owner)) return false;
    if (!takeOver(i32, STATE, OWNER, owner, ME)) return false;
    warnDeadHolder('A Lock', owner);
    return true;
  }

  /** @internal For the wait records: the thread holding it (0: free, or changing hands). */
  _diagOwner(): number {
    const i32 = this._i32;
    return Atomics.load(i32, STATE) === 0 ? 0 : Atomics.load(i32, OWNER);
  }

  /** @internal Whether thread `ident` acquired it (and has not released it). */
  _heldBy(ident: number): boolean {
    const i32 = this._i32;
    return Atomics.load(i32, STATE) !== 0 && Atomics.load(i32, OWNER) === ident;
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
    const state = Atomics.load(i32, STATE);
    const owner = Atomics.load(i32, OWNER);
    const waiters = countWaiters(i32, WHO);
    return state === 0
      ? `<Lock unlocked waiters=${waiters}>`
      : `<Lock locked owner=${owner === 0 ? '?' : nameOfIdent(owner)} waiters=${waiters}>`;
  }
}
brandClass(Lock, 'Lock');
defineKind('Lock', (d) => revivePrimitive(d.sab, (sab) => new Lock(sab)));
