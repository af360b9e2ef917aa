/**
 * `Condition`: Python's `threading.Condition`, shared across threads.
 *
 * Memory layout (Int32 words after the primitive header), all written only while holding the
 * condition's lock:
 * - `HEAD`, `TAIL`: the FIFO list of waiting park nodes (indices into the arena, 0 = none).
 * - `COUNT`: how many waiters are in the list.
 *
 * Each `wait()` takes a park node of its own from the arena (`shared/nodes.ts`), links it at the
 * tail, releases the lock and sleeps on the node's park word. `notify(n)` unlinks up to n nodes
 * from the head, marks each NOTIFIED and wakes it. Because a waiter sleeps on its own word:
 * - no wake-up is lost: a notify between the release and the sleep leaves the word NOTIFIED, and
 *   `Atomics.wait` on a changed word returns at once;
 * - `notify(n)` wakes exactly min(n, waiting) waiters, oldest first, and a waiter that arrives
 *   after a notify can never take its wake-up;
 * - a waiter that times out or is aborted unlinks its own node (after re-acquiring the lock), so
 *   it leaves nothing behind, and a notify never goes to a waiter that has left.
 * A waiter whose thread died is skipped by `notify` (its node is reclaimed there).
 *
 * Woken waiters re-acquire the lock before returning, so they run only after the notifier releases.
 */
import { inspect } from 'node:util';
import { deadlineOf } from '../shared/clock.js';
import { allocNode, at, freeNode, NEXT, NOTIFIED, OWNER, PARK, PREV, WAITING } from '../shared/nodes.js';
import { NODE_CAP, runtime } from '../shared/runtime.js';
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
import { waiterDied } from './owner.js';
import { Lock } from './lock.js';
import { brandClass, FIRST_WORD, ME, revivePrimitive, SharedPrimitive } from './primitive.js';
import { RLock } from './rlock.js';

const HEAD = FIRST_WORD;
const TAIL = FIRST_WORD + 1;
const COUNT = FIRST_WORD + 2;
const WORDS = FIRST_WORD + 3;

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
      const node = i32[HEAD] as number;
      if (node === 0) break;
      this._unlink(node);
      if (waiterDied(Atomics.load(arena, at(node, OWNER)))) {
        freeNode(arena, node); // its waiter will never come back for it
        continue;
      }
      Atomics.store(arena, at(node, PARK), code);
      // All, not 1: an aborted waitAsync on this word from a node's earlier life must not eat it.
      Atomics.notify(arena, at(node, PARK));
      woken++;
    }
  }

  private _append(node: number): void {
    const i32 = this._i32;
    const tail = i32[TAIL] as number;
    arena[at(node, PREV)] = tail;
    arena[at(node, NEXT)] = 0;
    if (tail === 0) i32[HEAD] = node;
    else arena[at(tail, NEXT)] = node;
    i32[TAIL] = node;
    i32[COUNT] = (i32[COUNT] as number) + 1;
  }

  private _unlink(node: number): void {
    const i32 = this._i32;
    const prev = arena[at(node, PREV)] as number;
    const next = arena[at(node, NEXT)] as number;
    if (prev === 0) i32[HEAD] = next;
    else arena[at(prev, NEXT)] = next;
    if (next === 0) i32[TAIL] = prev;
    else arena[at(next, PREV)] = prev;
    arena[at(node, PREV)] = 0;
    arena[at(node, NEXT)] = 0;
    i32[COUNT] = (i32[COUNT] as number) - 1;
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
    const node = allocNode(arena, ME);
    this._append(node);
    const park: Park = { i32: arena, index: at(node, PARK), value: WAITING, poll, rec };
    let saved: number;
    try {
      saved = lock._releaseSave();
    } catch (e) {
      this._unlink(node);
      freeNode(arena, node);
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
      if (word === WAITING) this._unlink(node);
      else if (aborted && passOn) this._notify(1); // pass on the wake-up this aborted waiter will not use
      freeNode(arena, node);
    }
    return code;
  }

  /** @internal Whether a waiter in the list belongs to a thread that died (the lock is held). */
  _hasDeadWaiter(): boolean {
    let node = this._i32[HEAD] as number;
    for (let steps = 0; node !== 0 && steps < NODE_CAP; steps++) {
      if (waiterDied(Atomics.load(arena, at(node, OWNER)))) return true;
      node = arena[at(node, NEXT)] as number;
    }
    return false;
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
    // Waiters whose thread died stay linked until a notify skips them: count the live ones.
    let waiters = 0;
    let node = Atomics.load(this._i32, HEAD);
    for (let steps = 0; node > 0 && node < NODE_CAP && steps < 1_000_000; steps++) {
      if (!waiterDied(Atomics.load(arena, at(node, OWNER)))) waiters++;
      node = Atomics.load(arena, at(node, NEXT));
    }
    return `<Condition waiters=${waiters} lock=${inspect(this.#lock)}>`;
  }
}
brandClass(Condition, 'Condition');
defineKind('Condition', (d) => revivePrimitive(d.sab, (sab) => new Condition(d.parts?.[0] as Lock | RLock, sab)));
