/**
 * `RLock`: Python's `threading.RLock`, a lock its owner thread may acquire again.
 *
 * Memory layout (Int32 words after the primitive header):
 * - `STATE`: the futex word of `Lock`, naming its owner (0 free, `owner << 1`, `| 1` when maybe
 *   contended), written by the CAS that takes it (or by the one observer that takes it over from
 *   a dead owner, by CAS), so it is never held by nobody known.
 * - `COUNT`: recursion depth; read and written only by the owner.
 * - `WHO…`: which threads are sleeping in an acquire, for `util.inspect` (`waiters.ts`).
 *
 * Ownership belongs to a *thread*: async functions of one thread share it (use a `Lock` between
 * them). When the owner thread ends, however it ends, the lock is released for the next waiter.
 */
import { inspect } from 'node:util';
import { deadlineOf } from '../shared/clock.js';
import { type AcquireOptions, acquireOptionsOf } from '../shared/validate.js';
import { K_RLOCK, O_ACQUIRE, O_REACQUIRE } from '../shared/records.js';
import { type Park, runAsync, runSync, type Steps } from '../shared/wait.js';
import { ThreadError } from '../errors.js';
import { defineKind } from '../wire/kinds.js';
import { holdSteps, releaseHeld, TIMED_OUT, tryHold } from '../shared/mutex.js';
import { ended, nameOfIdent, warnDeadHolder } from './owner.js';
import { brandClass, FIRST_WORD, ME, revivePrimitive, SharedPrimitive } from './primitive.js';
import { type LockLike, rejectSignalInSync, withAcquired, withAcquiredSync } from './locklike.js';
import { countWaiters, enterWait, leaveWait, WAITER_WORDS } from './waiters.js';

const STATE = FIRST_WORD;
const COUNT = FIRST_WORD + 1;
const WHO = FIRST_WORD + 2;
const WORDS = WHO + WAITER_WORDS;
/** This thread's value of a locked `STATE`. */
const MINE = ME << 1;

/**
 * A re-entrant lock, owned by the thread that acquired it; that thread must release it as many
 * times as it acquired it. Modes, options and return values are those of `Lock`. `release()` by a
 * thread that does not own it throws `ThreadError`. Python: `threading.RLock`.
 */
export class RLock extends SharedPrimitive implements LockLike {
  constructor(sab?: SharedArrayBuffer) {
    super(WORDS, sab);
  }

  async acquire(options?: AcquireOptions): Promise<boolean> {
    if (options === undefined && this._tryFast()) return true;
    const { timeout, signal } = acquireOptionsOf(options, 'RLock.acquire');
    if (signal?.aborted) throw signal.reason;
    if (timeout === 0) return runSync(this._acquireSteps(), 0);
    return runAsync(this._acquireSteps(), deadlineOf(timeout), signal);
  }

  acquireSync(options?: Omit<AcquireOptions, 'signal'>): boolean {
    if (options === undefined && this._tryFast()) return true;
    rejectSignalInSync(options, 'RLock.acquireSync');
    const { timeout } = acquireOptionsOf(options, 'RLock.acquireSync');
    return runSync(this._acquireSteps(), deadlineOf(timeout));
  }

  /** Releases one level; at zero the lock is free. `ThreadError` if this thread does not own it. */
  release(): void {
    const i32 = this._i32;
    if (Atomics.load(i32, STATE) >>> 1 !== ME) throw new ThreadError('cannot release un-acquired lock');
    const count = (i32[COUNT] as number) - 1;
    i32[COUNT] = count;
    if (count === 0) releaseHeld(i32, STATE);
  }

  /** Whether any thread holds it (one whose owner ended is released first). */
  locked(): boolean {
    const i32 = this._i32;
    if (Atomics.load(i32, STATE) === 0) return false;
    if (this._reapDeadOwner()) releaseHeld(i32, STATE);
    return Atomics.load(i32, STATE) !== 0;
  }

  withLock<T>(fn: () => T | PromiseLike<T>): Promise<Awaited<T>> {
    return withAcquired(this, fn);
  }

  withLockSync<T>(fn: () => T): T {
    return withAcquiredSync(this, fn);
  }

  private _tryFast(): boolean {
    const i32 = this._i32;
    const c = Atomics.compareExchange(i32, STATE, 0, MINE);
    if (c === 0) {
      // A plain store: only the owner reads COUNT, and the CAS orders it for the next owner.
      i32[COUNT] = 1;
      return true;
    }
    if (c >>> 1 === ME) {
      i32[COUNT] = (i32[COUNT] as number) + 1;
      return true;
    }
    return false;
  }

  /** @internal */
  *_acquireSteps(untimed = false, count = 1): Steps<boolean> {
    const i32 = this._i32;
    if (Atomics.load(i32, STATE) >>> 1 === ME) {
      i32[COUNT] = (i32[COUNT] as number) + count;
      return true;
    }
    if (!tryHold(i32, STATE)) {
      const token = enterWait(i32, WHO);
      try {
        const park: Park = {
          i32,
          index: STATE,
          value: 0,
          poll: true,
          untimed,
          rec: { kind: K_RLOCK, op: untimed ? O_REACQUIRE : O_ACQUIRE, src: this },
        };
        const got = yield* holdSteps(i32, STATE, park, ended, 0);
        if (got === TIMED_OUT) return false;
        if (got > 0) warnDeadHolder('An RLock', got);
      } finally {
        leaveWait(i32, WHO, token);
      }
    }
    i32[COUNT] = count;
    return true;
  }

  /** If the owner thread ended, takes the lock over for this thread and returns true. */
  private _reapDeadOwner(): boolean {
    const i32 = this._i32;
    const c = Atomics.load(i32, STATE);
    const owner = c >>> 1;
    if (owner === 0 || owner === ME || !ended(owner)) return false;
    if (Atomics.compareExchange(i32, STATE, c, MINE | 1) !== c) return false;
    i32[COUNT] = 1;
    warnDeadHolder('An RLock', owner);
    return true;
  }

  /** @internal */
  _isOwned(): boolean {
    return Atomics.load(this._i32, STATE) >>> 1 === ME;
  }

  /** @internal */
  _releaseSave(): number {
    const i32 = this._i32;
    if (Atomics.load(i32, STATE) >>> 1 !== ME) throw new ThreadError('cannot release un-acquired lock');
    const count = i32[COUNT] as number;
    i32[COUNT] = 0;
    releaseHeld(i32, STATE);
    return count;
  }

  /** @internal */
  _acquireRestoreSteps(saved: number): Steps<boolean> {
    return this._acquireSteps(true, saved);
  }

  /** @internal For the wait records: the thread that owns it (0: free). */
  _diagOwner(): number {
    return Atomics.load(this._i32, STATE) >>> 1;
  }

  /** @internal */
  _kind(): string {
    return 'RLock';
  }

  [inspect.custom](): string {
    const i32 = this._i32;
    const owner = Atomics.load(i32, STATE) >>> 1;
    const waiters = countWaiters(i32, WHO);
    return owner === 0
      ? `<RLock unlocked waiters=${waiters}>`
      : `<RLock locked owner=${nameOfIdent(owner)} count=${i32[COUNT]} waiters=${waiters}>`;
  }
}
brandClass(RLock, 'RLock');
defineKind('RLock', (d) => revivePrimitive(d.sab, (sab) => new RLock(sab)));
