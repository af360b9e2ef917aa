/**
 * `Condition`: Python's `threading.Condition`, shared across threads.
 *
 * Memory layout (Int32 words after the primitive header):
 * - `ANCHOR`: the arena node its list of waiters hangs from (`shared/nodes.ts`), as last seen;
 *   written only while holding the condition's lock. The list itself is in the arena, changed
 *   only under the park-node allocator's lock, one journaled step at a time: a thread killed in
 *   the middle of linking or unlinking a waiter leaves the list whole, and a waiter whose thread
 *   died is freed even if its condition was dropped first (nothing of the list lives here).
 *
 * Each `wait()` takes a park node of its own from the arena, links it at the tail, releases the
 * lock and sleeps on the node's park word. `notify(n)` unlinks up to n nodes from the head, marks
 * each NOTIFIED and wakes it. Because a waiter sleeps on its own word:
 * - no wake-up is lost: a notify between the release and the sleep leaves the word NOTIFIED, and
 *   `Atomics.wait` on a changed word returns at once;
 * - `notify(n)` wakes exactly min(n, waiting) waiters, oldest first, and a waiter that arrives
 *   after a notify can never take its wake-up;
 * - a waiter that times out or is aborted unlinks its own node (after re-acquiring the lock), so
 *   it leaves nothing behind, and a notify never goes to a waiter that has left.
 * A waiter whose thread died is skipped by `notify` (its node is freed there, or by the sweep
 * of dead threads' nodes, `shared/nodes.ts`).
 *
 * Woken waiters re-acquire the lock before returning, so they run only after the notifier releases.
 */
import { inspect } from 'node:util';
import { deadlineOf } from '../shared/clock.js';
import {
  at,
  enqueueWaiter,
  LIST,
  leaveWaiter,
  liveWaiters,
  NOTIFIED,
  PARK,
  popWaiter,
  WAITING,
} from '../shared/nodes.js';
import { runtime } from '../shared/runtime.js';
import {
  type AcquireOptions,
  acquireOptionsOf,
  argumentCheck,
  countOrInfinity,
  optionsOf,
  signalOf,
  timeoutOf,
} from '../shared/validate.js';
import { K_CONDITION, O_WAIT, type WaitDesc } from '../shared/records.js';
import { type Park, runAsync, runSync, type Steps } from '../shared/wait.js';
import { argTypeError, ThreadError } from '../errors.js';
import { defineKind } from '../wire/kinds.js';
import { rejectSignalInSync, type LockLike } from './locklike.js';
import { Lock } from './lock.js';
import { brandClass, FIRST_WORD, ME, revivePrimitive, SharedPrimitive, W_UID_HI, W_UID_LO } from './primitive.js';
import { RLock } from './rlock.js';

const ANCHOR = FIRST_WORD;
const WORDS = FIRST_WORD + 1;

const arena = runtime().i32;

/** What `_wakeSteps` returns when a poll slice passed without a notify. */
export const POLLED = -1;

/** Options of `Condition.wait` / `waitFor`. */
export interface WaitOptions {
  /** Milliseconds to wait at most, in total (`Infinity`/`undefined`: forever). */
  timeout?: number;
  /** Aborting rejects with the signal's reason, after the lock is re-acquired (Promise form only). */
  signal?: AbortSignal;
}

/**
 * A condition variable: threads (or async functions) wait on it until another notifies them.
 * The caller must hold the condition's lock around `wait`, `waitFor`, `notify` and `notifyAll`
 * (`ThreadError` otherwise). The default lock is a new `RLock`.
 *
 * - `wait()`: releases the lock, sleeps until notified, re-acquires the lock; `true`.
 * - `wait({ timeout })` (ms): `false` if the time ran out first (the lock is re-acquired anyway).
 * - `wait({ signal })`: abort rejects with the signal's reason once the lock is re-acquired.
 * - `waitFor(predicate, { timeout })`: waits until `predicate()` is truthy; the timeout is one
 *   budget for the whole call; returns the predicate's last value.
 * - `notify(n = 1)`: wakes the n longest-waiting waiters; `notifyAll()`: all of them.
 *
 * Python: `threading.Condition`.
 */
export class Condition extends SharedPrimitive {
  readonly #lock: Lock | RLock;

  constructor(lock?: Lock | RLock, sab?: SharedArrayBuffer) {
    super(WORDS, sab);
    if (lock === undefined) lock = new RLock();
    else if (!(lock instanceof Lock) && !(lock instanceof RLock)) {
      throw argTypeError(
        `Expected the lock of a Condition to be a Lock or an RLock, got ${inspect(lock, { depth: 0 })}`,
      );
    }
    this.#lock = lock;
  }

  /** @internal */
  get _lock(): LockLike {
    return this.#lock;
  }

  // Options are checked here first, so that a bad one is reported as Condition's, not its lock's.
  acquire(options?: AcquireOptions): Promise<boolean> {
    if (options !== undefined) {
      try {
        acquireOptionsOf(options, 'Condition.acquire');
      } catch (e) {
        return Promise.reject(e);
      }
    }
    return this.#lock.acquire(options);
  }

  acquireSync(options?: Omit<AcquireOptions, 'signal'>): boolean {
    if (options !== undefined) {
      rejectSignalInSync(options, 'Condition.acquireSync');
      acquireOptionsOf(options, 'Condition.acquireSync');
    }
    return this.#lock.acquireSync(options);
  }

  release(): void {
    this.#lock.release();
  }

  withLock<T>(fn: () => T | PromiseLike<T>): Promise<Awaited<T>> {
    return this.#lock.withLock(fn);
  }

  withLockSync<T>(fn: () => T): T {
    return this.#lock.withLockSync(fn);
  }

  /** Waits until notified or the timeout (ms) passes; the lock must be held. */
  async wait(options?: WaitOptions): Promise<boolean> {
    const o = optionsOf(options, 'Condition.wait');
    const timeout = timeoutOf(o.timeout);
    const signal = signalOf(o.signal);
    if (!this.#lock._isOwned()) throw new ThreadError('cannot wait on un-acquired lock');
    if (signal?.aborted) throw signal.reason;
    return runAsync(this._waitSteps(), deadlineOf(timeout), signal);
  }

  /** Blocking twin of `wait`. */
  waitSync(options?: Omit<WaitOptions, 'signal'>): boolean {
    rejectSignalInSync(options, 'Condition.waitSync');
    const timeout = timeoutOf(optionsOf(options, 'Condition.waitSync').timeout);
    if (!this.#lock._isOwned()) throw new ThreadError('cannot wait on un-acquired lock');
    return runSync(this._waitSteps(), deadlineOf(timeout));
  }

  /**
   * Waits until `predicate()` returns a truthy value (which it returns), or the timeout (ms, one
   * budget for the whole call) passes (then the predicate's last, falsy, value).
   */
  async waitFor<T>(predicate: () => T, options?: WaitOptions): Promise<T> {
    if (typeof predicate !== 'function') throw argTypeError(argumentCheck('predicate', 'a function', predicate));
    const o = optionsOf(options, 'Condition.waitFor');
    const deadline = deadlineOf(timeoutOf(o.timeout));
    const signal = signalOf(o.signal);
    if (signal?.aborted) throw signal.reason;
    let result = predicate();
    while (!result) {
      if (!this.#lock._isOwned()) throw new ThreadError('cannot wait on un-acquired lock');
      if (signal?.aborted) throw signal.reason;
      if (performance.now() >= deadline) break;
      await runAsync(this._waitSteps(), deadline, signal);
      result = predicate();
    }
    return result;
  }

  /** Blocking twin of `waitFor`. */
  waitForSync<T>(predicate: () => T, options?: Omit<WaitOptions, 'signal'>): T {
    if (typeof predicate !== 'function') throw argTypeError(argumentCheck('predicate', 'a function', predicate));
    rejectSignalInSync(options, 'Condition.waitForSync');
    const deadline = deadlineOf(timeoutOf(optionsOf(options, 'Condition.waitForSync').timeout));
    let result = predicate();
    while (!result) {
      if (!this.#lock._isOwned()) throw new ThreadError('cannot wait on un-acquired lock');
      if (performance.now() >= deadline) break;
      runSync(this._waitSteps(), deadline);
      result = predicate();
    }
    return result;
  }

  /** Wakes up to `n` waiters, longest-waiting first. The lock must be held. */
  notify(n = 1): void {
    countOrInfinity(n, 'n');
    if (!this.#lock._isOwned()) throw new ThreadError('cannot notify on un-acquired lock');
    this._notify(n);
  }

  /** Wakes every waiter. The lock must be held. */
  notifyAll(): void {
    if (!this.#lock._isOwned()) throw new ThreadError('cannot notify on un-acquired lock');
    this._notify(Number.POSITIVE_INFINITY);
  }

  /**
   * @internal Notifies without the ownership check (callers hold the lock). `code` is what the
   * woken waiters' `_wakeSteps` return (a Barrier tells released from broken waiters by it).
   */
  _notify(n: number, code: number = NOTIFIED): void {
    const i32 = this._i32;
    let woken = 0;
    while (woken < n) {
      const node = popWaiter(arena, i32[ANCHOR] as number, i32[W_UID_LO] as number, i32[W_UID_HI] as number, code);
      if (node === 0) break;
      if (node < 0) continue; // its waiter died: freed, and not counted
      // All, not 1: an aborted waitAsync on this word from a node's earlier life must not eat it.
      Atomics.notify(arena, at(node, PARK));
      woken++;
    }
  }

  /**
   * @internal One wait, written once for both forms. The caller holds the lock. Returns whether
   * it was notified; on abort, re-acquires the lock, then lets the abort propagate.
   */
  *_waitSteps(): Steps<boolean> {
    return (yield* this._wakeSteps(false, true)) > 0;
  }

  /**
   * @internal The wait itself: returns the code its notifier gave (`_notify`, > 0), 0 when it
   * timed out, or `POLLED` (-1) when, with `poll`, a poll slice passed without a notify: the
   * caller re-checks whatever no notify announces, holding the lock again, and waits again if it
   * must. `passOn`: an
   * aborted waiter that was notified anyway hands its wake-up to the next waiter.
   */
  *_wakeSteps(
    poll: boolean,
    passOn: boolean,
    rec: WaitDesc = { kind: K_CONDITION, op: O_WAIT, src: this },
  ): Steps<number> {
    const lock = this.#lock;
    const i32 = this._i32;
    const node = enqueueWaiter(arena, i32[ANCHOR] as number, i32[W_UID_LO] as number, i32[W_UID_HI] as number, ME);
    Atomics.store(i32, ANCHOR, Atomics.load(arena, at(node, LIST)));
    const park: Park = { i32: arena, index: at(node, PARK), value: WAITING, poll, rec };
    let saved: number;
    try {
      saved = lock._releaseSave();
    } catch (e) {
      leaveWaiter(arena, node);
      throw e;
    }
    let code = 0;
    let aborted = false;
    let polled = false;
    try {
      for (;;) {
        const outcome = yield park;
        polled = outcome === 'poll';
        // A 'poll' outcome also comes from slicing (an abortable wait): only a caller that asked
        // for polls is handed back.
        if (Atomics.load(arena, park.index) !== WAITING || outcome === 'timeout' || (poll && outcome === 'poll')) break;
      }
    } catch (e) {
      aborted = true;
      throw e;
    } finally {
      yield* lock._acquireRestoreSteps(saved);
      const word = Atomics.load(arena, park.index);
      code = word !== WAITING ? word : polled ? POLLED : 0;
      leaveWaiter(arena, node);
      if (word !== WAITING && aborted && passOn) this._notify(1); // pass on the wake-up this aborted waiter will not use
    }
    return code;
  }

  /**
   * @internal How many waiters in the list belong to live threads (the lock is held). A Barrier
   * compares it with the parties it counted: a waiter whose thread died may already be swept.
   */
  _liveWaiters(): number {
    const i32 = this._i32;
    return liveWaiters(arena, i32[ANCHOR] as number, i32[W_UID_LO] as number, i32[W_UID_HI] as number, true);
  }

  /** @internal */
  _kind(): string {
    return 'Condition';
  }

  /** @internal */
  override _parts(): unknown[] {
    return [this.#lock];
  }

  [inspect.custom](): string {
    // Waiters whose thread died may stay linked until a notify or a sweep frees them: count the live ones.
    const i32 = this._i32;
    const anchor = Atomics.load(i32, ANCHOR);
    const waiters = liveWaiters(arena, anchor, i32[W_UID_LO] as number, i32[W_UID_HI] as number, false);
    return `<Condition waiters=${waiters} lock=${inspect(this.#lock)}>`;
  }
}
brandClass(Condition, 'Condition');
defineKind('Condition', (d) => revivePrimitive(d.sab, (sab) => new Condition(d.parts?.[0] as Lock | RLock, sab)));
