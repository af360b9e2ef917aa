/**
 * `Barrier`: Python's `threading.Barrier`, shared across threads.
 *
 * Built on a `Condition(Lock())`, with its state in shared words written only under that lock:
 * - `COUNT`: parties that have arrived this round (waiting, or the last one running the action).
 * - `BROKEN`: 1 once broken (timeout, `abort()`, a failing action, a party that died while
 *   waiting); every `wait()` then throws `BrokenBarrierError` until `reset()`.
 * - `PARTIES`: the number of threads that must arrive (constant).
 * - `PENDING`: an `abort()`/`reset()` requested from the thread whose action is running (it holds
 *   the lock, so it cannot take it again): applied when the action ends, still under the lock.
 * - `HOLDER`: the ident of the last thread that entered a critical section of the barrier and
 *   has not left the barrier since (0 once it left: it clears it as it lets go of the lock). It
 *   stays set while that thread waits in the condition, so that finding it naming a thread that
 *   died, on taking the lock, tells that a party died either inside a critical section (the lock
 *   was taken over from it, possibly before its wait was listed) or while waiting: either way the
 *   round can never complete, and the barrier breaks.
 *
 * As Java's `CyclicBarrier` (not CPython's draining/resetting states): a round ends the moment
 * its last party arrives. That party wakes every waiter with the code RELEASED in its own park
 * node (`Condition._notify`), or BROKEN when the round is broken or reset, so each waiter learns
 * its own round's fate even if it runs again only after later rounds; the next round starts at
 * once and no round waits for the previous one's waiters to leave. So a party that dies after
 * its round ended holds nothing up. One that dies while waiting is missing from the condition's
 * live waiters (`COUNT` says how many there should be): waiters look for such parties every poll
 * (`POLL_MS`) and arrivals when they come, and break
 * the barrier, as Java does when a waiter is interrupted.
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
import { FIRST_NOTIFY_CODE } from '../shared/nodes.js';
import { waiterDied } from './owner.js';
import { K_BARRIER, O_WAIT } from '../shared/records.js';
import { Condition, POLLED, type WaitOptions } from './condition.js';
import { rejectSignalInSync } from './locklike.js';
import { Lock } from './lock.js';
import { brandClass, FIRST_WORD, ME, revivePrimitive, SharedPrimitive } from './primitive.js';

const BROKEN = FIRST_WORD;
const COUNT = FIRST_WORD + 1;
const PARTIES = FIRST_WORD + 2;
const PENDING = FIRST_WORD + 3;
const HOLDER = FIRST_WORD + 4;
const WORDS = FIRST_WORD + 5;

/** `PENDING`: an abort() or reset() asked for while this thread's own action held the lock. */
const PENDING_ABORT = 1;
const PENDING_RESET = 2;

/** The codes waiters are woken with (`Condition._notify`; see `shared/nodes.ts` for the others). */
const RELEASED = FIRST_NOTIFY_CODE;
const BROKEN_CODE = FIRST_NOTIFY_CODE + 1;

/** The most parties the shared `PARTIES` and `COUNT` words can hold. */
const MAX_PARTIES = 0x7fffffff;

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
      // Its own lock: a party dying while holding it breaks the barrier, with no warning about a
      // Lock the user never created.
      this.#cond = new Condition(Lock._internal());
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

  /** The number of threads waiting now (one that died while waiting breaks the barrier). */
  get nWaiting(): number {
    this._noticeDeadParties();
    const i32 = this._i32;
    return Atomics.load(i32, BROKEN) === 1 ? 0 : Atomics.load(i32, COUNT);
  }

  /** Whether the barrier is broken. */
  get broken(): boolean {
    this._noticeDeadParties();
    return Atomics.load(this._i32, BROKEN) === 1;
  }

  /**
   * Breaks the barrier now if a waiting party has died, so that `broken` and `nWaiting` tell the
   * truth even before a waiter polls. Only if the lock is free right now: a getter never blocks.
   */
  private _noticeDeadParties(): void {
    const i32 = this._i32;
    if (Atomics.load(i32, COUNT) === 0 || Atomics.load(i32, BROKEN) === 1) return;
    if (this.#lock._heldBy(ME) || !this.#lock.acquireSync({ blocking: false })) return;
    try {
      this._enter();
    } finally {
      this._leave();
    }
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
      this._enter();
      this._reset();
    } finally {
      this._leave();
    }
  }

  /** Breaks the barrier: every waiter, present and future, gets `BrokenBarrierError` until `reset()`. */
  abort(): void {
    if (this._deferred(PENDING_ABORT)) return;
    this.#lock.acquireSync();
    try {
      this._enter();
      this._break();
    } finally {
      this._leave();
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
    // Those waiting now get BrokenBarrierError; the barrier is empty and whole again at once.
    this.#cond._notify(Number.POSITIVE_INFINITY, BROKEN_CODE);
    Atomics.store(i32, COUNT, 0);
    Atomics.store(i32, BROKEN, 0);
  }

  private _break(): void {
    const i32 = this._i32;
    Atomics.store(i32, BROKEN, 1);
    Atomics.store(i32, COUNT, 0);
    this.#cond._notify(Number.POSITIVE_INFINITY, BROKEN_CODE);
  }

  /**
   * Called on taking the lock: claims the critical section, and breaks the barrier if the last
   * holder died inside one, or a waiting party died. `counted`: the caller is a party of this
   * round (back from a poll). Returns whether it broke it now.
   */
  private _enter(counted = false): boolean {
    const i32 = this._i32;
    const before = Atomics.exchange(i32, HOLDER, ME);
    if (Atomics.load(i32, BROKEN) === 1) return false;
    // Every party counted this round but the caller waits in the condition's list. One missing
    // from the live waiters died while waiting, whether its node is still there or was already
    // freed (by a notify, or the sweep of dead threads' nodes, shared/nodes.ts); this also sees a
    // party killed between counting itself and being listed.
    const others = Atomics.load(i32, COUNT) - (counted ? 1 : 0);
    const holderDied = before !== 0 && before !== ME && waiterDied(before);
    if (holderDied || (others > 0 && this.#cond._liveWaiters() < others)) {
      this._break();
      return true;
    }
    return false;
  }

  /** Ends a critical section and lets go of the lock. */
  private _leave(): void {
    Atomics.store(this._i32, HOLDER, 0);
    this.#lock.release();
  }

  private *_waitSteps(): Steps<number> {
    const i32 = this._i32;
    yield* this.#lock._acquireSteps(true);
    try {
      if (this._enter()) throw new BrokenBarrierError('Barrier broken: a party died while waiting');
      if (Atomics.load(i32, BROKEN) === 1) throw new BrokenBarrierError('Barrier is broken');
      const index = Atomics.load(i32, COUNT);
      Atomics.store(i32, COUNT, index + 1);
      if (index + 1 === Atomics.load(i32, PARTIES)) {
        try {
          yield* this._runAction();
          Atomics.store(i32, COUNT, 0);
          this.#cond._notify(Number.POSITIVE_INFINITY, RELEASED);
        } finally {
          this._applyPending();
        }
        return index;
      }
      for (;;) {
        const code = yield* this._condWait();
        if (code === RELEASED) return index;
        if (code === BROKEN_CODE) throw new BrokenBarrierError('Barrier was broken or reset while waiting');
        // Not woken: a poll slice passed, or the time ran out. Either way, first see whether a
        // party died (that breaks the barrier, and this waiter with it).
        if (this._enter(true)) throw new BrokenBarrierError('Barrier broken: a party died while waiting');
        if (Atomics.load(i32, BROKEN) === 1) throw new BrokenBarrierError('Barrier is broken');
        if (code !== POLLED) {
          this._break();
          throw new BrokenBarrierError('Barrier wait timed out');
        }
      }
    } finally {
      this._leave();
    }
  }

  /**
   * A condition wait that polls for dead parties, and breaks the barrier if aborted (the lock is
   * re-acquired by then). `HOLDER` keeps naming this thread while it waits (a kill between its
   * count and its listing is then still seen), and names it again once it holds the lock back.
   */
  private *_condWait(): Steps<number> {
    try {
      return yield* this.#cond._wakeSteps(true, false, { kind: K_BARRIER, op: O_WAIT, src: this });
    } catch (e) {
      Atomics.store(this._i32, HOLDER, ME);
      this._break();
      throw e;
    } finally {
      Atomics.store(this._i32, HOLDER, ME);
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

  /** @internal For the wait records: parties waiting now. */
  _diagDetail(): number {
    return Atomics.load(this._i32, COUNT);
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
    const broken = this.broken;
    const state = broken ? 'broken' : 'filling';
    return `<Barrier ${state} waiting=${this.nWaiting}/${this._i32[PARTIES]}>`;
  }
}
brandClass(Barrier, 'Barrier');
defineKind('Barrier', (d) =>
  revivePrimitive(d.sab, (sab) => {
    const [cond, action, timeout] = d.parts as [Condition, TargetDescriptor | undefined, number];
    return new Barrier(0, undefined, { sab, cond, action, timeout });
  }),
);
