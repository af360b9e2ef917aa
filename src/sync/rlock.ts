/**
 * `RLock`: Python's `threading.RLock`, a lock its owner thread may acquire again.
 *
 * Memory layout (Int32 words after the primitive header):
 * - `STATE`: the inner three-state futex mutex, as in `Lock` (0 free, 1 held, 2 held+contended).
 * - `OWNER`: ident of the owning thread, 0 when free. Written only by the thread holding `STATE`
 *   (or by the one observer that takes over from a dead owner, by CAS).
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
import { ended, nameOfIdent, takeOver, warnDeadHolder } from './owner.js';
import { brandClass, FIRST_WORD, ME, revivePrimitive, SharedPrimitive } from './primitive.js';
import { type LockLike, rejectSignalInSync, withAcquired, withAcquiredSync } from './locklike.js';
import { countWaiters, enterWait, leaveWait, WAITER_WORDS } from './waiters.js';

const STATE = FIRST_WORD;
const OWNER = FIRST_WORD + 1;
const COUNT = FIRST_WORD + 2;
const WHO = FIRST_WORD + 3;
const WORDS = WHO + WAITER_WORDS;

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
    if (i32[OWNER] !== ME) throw new ThreadError('cannot release un-acquired lock');
    const count = (i32[COUNT] as number) - 1;
    i32[COUNT] = count;
    if (count === 0) this._unlock();
  }

  /** Whether any thread holds it (one whose owner ended is released first). */
  locked(): boolean {
    const i32 = this._i32;
    if (Atomics.load(i32, STATE) === 0) return false;
    if (this._reapDeadOwner()) this._unlock();
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
    if (i32[OWNER] === ME) {
      i32[COUNT] = (i32[COUNT] as number) + 1;
      return true;
    }
    if (Atomics.compareExchange(i32, STATE, 0, 1) === 0) {
      // Plain stores: the CAS on STATE orders them for the next holder; see Lock's OWNER.
      i32[OWNER] = ME;
      i32[COUNT] = 1;
      return true;
    }
    return false;
  }

  private _unlock(): void {
    const i32 = this._i32;
    i32[OWNER] = 0;
    if (Atomics.compareExchange(i32, STATE, 1, 0) !== 1 && Atomics.exchange(i32, STATE, 0) === 2) {
      Atomics.notify(i32, STATE, 1);
    }
  }

  /** @internal */
  *_acquireSteps(untimed = false, count = 1): Steps<boolean> {
    const i32 = this._i32;
    if (i32[OWNER] === ME) {
      i32[COUNT] = (i32[COUNT] as number) + count;
      return true;
    }
    let c = Atomics.compareExchange(i32, STATE, 0, 1);
    if (c !== 0) {
      const token = enterWait(i32, WHO);
      try {
        const park: Park = {
          i32,
          index: STATE,
          value: 2,
          poll: true,
          untimed,
          rec: { kind: K_RLOCK, op: untimed ? O_REACQUIRE : O_ACQUIRE, src: this },
        };
        if (c !== 2) c = Atomics.exchange(i32, STATE, 2);
        while (c !== 0) {
          const outcome = yield park;
          if (outcome !== 'woken' && this._reapDeadOwner()) break;
          if (outcome === 'timeout') return false;
          c = Atomics.exchange(i32, STATE, 2);
        }
      } finally {
        leaveWait(i32, WHO, token);
      }
    }
    Atomics.store(i32, OWNER, ME);
    i32[COUNT] = count;
    return true;
  }

  /** If the owner thread ended, takes the lock over for this thread and returns true. */
  private _reapDeadOwner(): boolean {
    const i32 = this._i32;
    const owner = Atomics.load(i32, OWNER);
    if (owner === 0 || owner === ME || !ended(owner)) return false;
    if (!takeOver(i32, STATE, OWNER, owner, ME)) return false;
    i32[COUNT] = 1;
    warnDeadHolder('An RLock', owner);
    return true;
  }

  /** @internal */
  _isOwned(): boolean {
    return Atomics.load(this._i32, OWNER) === ME;
  }

  /** @internal */
  _releaseSave(): number {
    const i32 = this._i32;
    if (Atomics.load(i32, OWNER) !== ME) throw new ThreadError('cannot release un-acquired lock');
    const count = i32[COUNT] as number;
    i32[COUNT] = 0;
    this._unlock();
    return count;
  }

  /** @internal */
  _acquireRestoreSteps(saved: number): Steps<boolean> {
    return this._acquireSteps(true, saved);
  }

  /** @internal For the wait records: the thread that owns it (0: free). */
  _diagOwner(): number {
    return Atomics.load(this._i32, STATE) === 0 ? 0 : Atomics.load(this._i32, OWNER);
  }

  /** @internal */
  _kind(): string {
    return 'RLock';
  }

  [inspect.custom](): string {
    const i32 = this._i32;
    const owner = Atomics.load(i32, OWNER);
    const waiters = countWaiters(i32, WHO);
    return Atomics.load(i32, STATE) === 0
      ? `<RLock unlocked waiters=${waiters}>`
      : `<RLock locked owner=${owner === 0 ? '?' : nameOfIdent(owner)} count=${i32[COUNT]} waiters=${waiters}>`;
  }
}
brandClass(RLock, 'RLock');
defineKind('RLock', (d) => revivePrimitive(d.sab, (sab) => new RLock(sab)));
