/**
 * `Barrier`: Python's `threading.Barrier`, shared across threads.
 *
 * Built as CPython builds it, on a `Condition(Lock())`, with its state in shared words written
 * only under that lock:
 * - `STATE`: 0 filling, 1 draining (released; the last waiters are leaving), -1 resetting
 *   (`reset()` while threads waited), -2 broken.
 * - `COUNT`: threads inside `wait()` this round.
 * - `PARTIES`: the number of threads that must arrive (constant).
 * - `PENDING`: an `abort()`/`reset()` requested from the thread whose action is running (it holds
 *   the lock, so it cannot take it again): applied when the action ends, still under the lock.
 *
 * The `action` (a target, shipped like a thread's) runs once per round in the last thread to
 * arrive, before any waiter is released, while that thread holds the lock.
 */
import { inspect } from 'node:util';
import { deadlineOf } from '../shared/clock.js';
import { countOf, optionsOf, signalOf, timeoutOf } from '../shared/validate.js';
import { type Pending, runAsync, runSync, type Steps } from '../shared/wait.js';
import { argRangeError, BrokenBarrierError } from '../errors.js';
import { defineKind } from '../wire/kinds.js';
import { describeTarget, loadTarget, preloadTarget, type TargetDescriptor, type TaskRef } from '../wire/target.js';
import { Condition, type WaitOptions } from './condition.js';
import { rejectSignalInSync } from './locklike.js';
import { Lock } from './lock.js';
import { brandClass, FIRST_WORD, ME, revivePrimitive, SharedPrimitive } from './primitive.js';

const STATE = FIRST_WORD;
const COUNT = FIRST_WORD + 1;
const PARTIES = FIRST_WORD + 2;
const PENDING = FIRST_WORD + 3;
const WORDS = FIRST_WORD + 4;

/** `PENDING`: an abort() or reset() asked for while this thread's own action held the lock. */
const PENDING_ABORT = 1;
const PENDING_RESET = 2;

/** The most parties the shared `PARTIES` and `COUNT` words can hold. */
const MAX_PARTIES = 0x7fffffff;

const FILLING = 0;
const DRAINING = 1;
const RESETTING = -1;
const BROKEN = -2;

export interface BarrierOptions {
  /** Runs once per round in the last thread to arrive, before the others are released. */
  action?: (() => unknown) | TaskRef<[], unknown>;
  /** Default timeout (ms) of `wait()`. */
  timeout?: number;
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (
    (typeof v === 'object' || typeof v === 'function') &&
    v !== null &&
    typeof (v as { then?: unknown }).then === 'function'
  );
}

/**
 * A meeting point for a fixed number of threads: each `wait()` blocks until `parties` threads
 * have called it, then all are released together and the barrier is ready for the next round.
 * - `wait()` resolves/returns the arrival index, 0 … parties-1, each once per round.
 * - A timeout (ms, from `wait` or the constructor), `abort()`, an abort signal or a failing action
 *   breaks the barrier: every waiter, present and future, gets `BrokenBarrierError` until
 *   `reset()` (the failing action's own thread gets its error; an aborted waiter the signal's reason).
 * - `reset()` makes it usable at once; threads waiting at that moment get `BrokenBarrierError`.
 * Python: `threading.Barrier`.
 */
export class Barrier extends SharedPrimitive {
  readonly #cond: Condition;
  readonly #lock: Lock;
  readonly #action: TargetDescriptor | undefined;
  readonly #timeout: number;

  constructor(parties: number, options?: BarrierOptions);
  /** @internal */
  constructor(
    parties: number,
    options: BarrierOptions | undefined,
    revived: { sab: SharedArrayBuffer; cond: Condition; action: TargetDescriptor | undefined; timeout: number },
  );
  constructor(
    parties: number,
    options?: BarrierOptions,
    revived?: { sab: SharedArrayBuffer; cond: Condition; action: TargetDescriptor | undefined; timeout: number },
  ) {
    super(WORDS, revived?.sab);
    if (revived !== undefined) {
      this.#cond = revived.cond;
      this.#action = revived.action;
      this.#timeout = revived.timeout;
    } else {
      countOf(parties, 'parties', 1);
      if (parties > MAX_PARTIES) {
        throw argRangeError(`Expected \`parties\` to be at most ${MAX_PARTIES}, got ${parties}`);
      }
      const o = optionsOf(options, 'Barrier');
      this.#timeout = timeoutOf(o.timeout);
      this.#action = o.action === undefined ? undefined : describeTarget(o.action, 'the barrier `action`');
      this.#cond = new Condition(new Lock());
      this._i32[PARTIES] = parties;
    }
    this.#lock = this.#cond._lock as Lock;
    // Start loading a module action now, so that a later waitSync finds it ready.
    if (this.#action !== undefined) preloadTarget(this.#action);
  }

  /** The number of threads required to pass the barrier. */
  get parties(): number {
    return this._i32[PARTIES] as number;
  }

  /** The number of threads waiting now. */
  get nWaiting(): number {
    const i32 = this._i32;
    return Atomics.load(i32, STATE) === FILLING ? Atomics.load(i32, COUNT) : 0;
  }

  /** Whether the barrier is broken. */
  get broken(): boolean {
    return Atomics.load(this._i32, STATE) === BROKEN;
  }

  /** Waits for the other parties; resolves to this thread's arrival index. */
  async wait(options?: WaitOptions): Promise<number> {
    const o = optionsOf(options, 'Barrier.wait');
    const timeout = o.timeout === undefined ? this.#timeout : timeoutOf(o.timeout);
    const signal = signalOf(o.signal);
    if (signal?.aborted) throw signal.reason;
    return runAsync(this._waitSteps(), deadlineOf(timeout), signal);
  }

  /** Blocking twin of `wait`. An action that returns a Promise needs `wait()` instead. */
  waitSync(options?: Omit<WaitOptions, 'signal'>): number {
    rejectSignalInSync(options, 'Barrier.waitSync');
    const o = optionsOf(options, 'Barrier.waitSync');
    const timeout = o.timeout === undefined ? this.#timeout : timeoutOf(o.timeout);
    return runSync(this._waitSteps(), deadlineOf(timeout));
  }

  /** Returns the barrier to its empty state; threads waiting now get `BrokenBarrierError`. */
  reset(): void {
    if (this._deferred(PENDING_RESET)) return;
    this.#lock.acquireSync();
    try {
      this._reset();
    } finally {
      this.#lock.release();
    }
  }

  /** Breaks the barrier: every waiter, present and future, gets `BrokenBarrierError` until `reset()`. */
  abort(): void {
    if (this._deferred(PENDING_ABORT)) return;
    this.#lock.acquireSync();
    try {
      this._break();
    } finally {
      this.#lock.release();
    }
  }

  /**
   * The barrier's action runs holding the lock. If that action is running in this very thread
   * (an async action awaited by `wait()`, or a sync one calling `abort()` itself), taking the
   * lock here would deadlock: the request is recorded instead and applied when the action ends,
   * as if it had taken the lock just after.
   */
  private _deferred(request: number): boolean {
    if (!this.#lock._heldBy(ME)) return false;
    Atomics.store(this._i32, PENDING, request);
    return true;
  }

  private _applyPending(): void {
    const request = Atomics.exchange(this._i32, PENDING, 0);
    if (request === PENDING_ABORT) this._break();
    else if (request === PENDING_RESET) this._reset();
  }

  private _reset(): void {
    const i32 = this._i32;
    if ((i32[COUNT] as number) > 0) {
      if (i32[STATE] === FILLING || i32[STATE] === BROKEN) Atomics.store(i32, STATE, RESETTING);
    } else Atomics.store(i32, STATE, FILLING);
    this.#cond._notify(Number.POSITIVE_INFINITY);
  }

  private _break(): void {
    Atomics.store(this._i32, STATE, BROKEN);
    this.#cond._notify(Number.POSITIVE_INFINITY);
  }

  private *_waitSteps(): Steps<number> {
    const i32 = this._i32;
    const cond = this.#cond;
    yield* this.#lock._acquireSteps(true);
    try {
      // Wait while the previous round drains or a reset completes.
      while (i32[STATE] === DRAINING || i32[STATE] === RESETTING) {
        const notified = yield* this._condWait();
        if (!notified && (i32[STATE] === DRAINING || i32[STATE] === RESETTING)) {
          this._break();
          throw new BrokenBarrierError('Barrier wait timed out');
        }
      }
      if (i32[STATE] === BROKEN) throw new BrokenBarrierError('Barrier is broken');
      const index = i32[COUNT] as number;
      Atomics.store(i32, COUNT, index + 1);
      try {
        if (index + 1 === (i32[PARTIES] as number)) {
          try {
            yield* this._runAction();
            Atomics.store(i32, STATE, DRAINING);
            cond._notify(Number.POSITIVE_INFINITY);
          } finally {
            this._applyPending();
          }
        } else {
          while (i32[STATE] === FILLING) {
            const notified = yield* this._condWait();
            if (!notified && i32[STATE] === FILLING) {
              this._break();
              throw new BrokenBarrierError('Barrier wait timed out');
            }
          }
          if ((i32[STATE] as number) < 0) throw new BrokenBarrierError('Barrier was broken or reset while waiting');
        }
        return index;
      } finally {
        const left = (i32[COUNT] as number) - 1;
        Atomics.store(i32, COUNT, left);
        if (left === 0 && (i32[STATE] === RESETTING || i32[STATE] === DRAINING)) {
          Atomics.store(i32, STATE, FILLING);
          cond._notify(Number.POSITIVE_INFINITY);
        }
      }
    } finally {
      this.#lock.release();
    }
  }

  /** A condition wait that breaks the barrier if aborted (the lock is re-acquired by then). */
  private *_condWait(): Steps<boolean> {
    try {
      return yield* this.#cond._waitSteps();
    } catch (e) {
      this._break();
      throw e;
    }
  }

  private *_runAction(): Steps<void> {
    const action = this.#action;
    if (action === undefined) return;
    try {
      let fn = loadTarget(action);
      if (isThenable(fn)) {
        const pending: Pending = {
          promise: fn,
          syncMessage: `Barrier.waitSync cannot load the module action ${action.name} yet: use wait()`,
        };
        yield pending;
        fn = pending.value as (...args: unknown[]) => unknown;
      }
      const r = fn();
      if (isThenable(r)) {
        yield { promise: r, syncMessage: 'Barrier.waitSync cannot await an action that returns a Promise: use wait()' };
      }
    } catch (e) {
      this._break();
      throw e;
    }
  }

  /** @internal */
  _kind(): string {
    return 'Barrier';
  }

  /** @internal */
  override _parts(): unknown[] {
    return [this.#cond, this.#action, this.#timeout];
  }

  [inspect.custom](): string {
    const i32 = this._i32;
    const names: Record<number, string> = { 0: 'filling', 1: 'draining', [-1]: 'resetting', [-2]: 'broken' };
    return `<Barrier ${names[Atomics.load(i32, STATE)]} waiting=${Atomics.load(i32, COUNT)}/${i32[PARTIES]}>`;
  }
}
brandClass(Barrier, 'Barrier');
defineKind('Barrier', (d) =>
  revivePrimitive(d.sab, (sab) => {
    const [cond, action, timeout] = d.parts as [Condition, TargetDescriptor | undefined, number];
    return new Barrier(0, undefined, { sab, cond, action, timeout });
  }),
);
