/**
 * `Queue`, `LifoQueue`, `PriorityQueue` and `SimpleQueue`: Python's `queue` module across real
 * threads. The items live in shared memory (`store.ts`, which knows the order of each kind);
 * this file adds the mutex around the store and the waiting, in both forms.
 *
 * As CPython's `Queue` is one mutex and three conditions (`not_empty`, `not_full`,
 * `all_tasks_done`), this one is one mutex (`shared/mutex.ts`, in the control buffer) and three
 * event words: `PUT_EV` (bumped by every put: getters sleep on it), `GET_EV` (every get: putters
 * sleep on it) and `DONE_EV` (the last task done: joiners sleep on it). Shutdown bumps all three.
 * A waiter takes the mutex, checks, and if it must wait reads the event word, counts itself in
 * `GETTERS`/`PUTTERS`/`JOINERS` and lets the mutex go; it then sleeps while the word is unchanged,
 * so a change between its check and its sleep is never lost. Whoever changes the queue bumps the
 * word and notifies only when someone is counted. Waits wake every `POLL_MS` as well, to
 * re-check (a notify swallowed by an aborted `waitAsync` is thereby never lost for long).
 *
 * Before sleeping, a `…Sync` get or put spins a few microseconds on the queue's counters (no
 * mutex): a producer and a consumer on two cores then hand items over without a futex call.
 */
import { inspect } from 'node:util';
import { argRangeError, argTypeError, QueueEmpty, QueueFull, QueueShutDown } from '../errors.js';
import { deadlineOf } from '../shared/clock.js';
import { lockSteps, tryLock, unlock } from '../shared/mutex.js';
import { boolOf, describe, optionsOf, signalOf, timeoutOf } from '../shared/validate.js';
import { K_QUEUE, O_GET, O_JOIN, O_PUT, type WaitDesc } from '../shared/records.js';
import { type Park, runAsync, runSync, type Steps } from '../shared/wait.js';
import { rejectSignalInSync } from '../sync/locklike.js';
import { brandClass, revivePrimitive, SharedPrimitive, uidOf } from '../sync/primitive.js';
import { countWaiters, enterWait, leaveWait } from '../sync/waiters.js';
import { defineKind, SHARE, type ShareDescriptor, UNSHARE } from '../wire/kinds.js';
import type { Transferable } from '../wire/move.js';
import { dropSabs, holdSabs, releaseOwner } from '../wire/sabs.js';
import { type Image, imageOf, smallTag, T_REC } from './item.js';
import { encodeKey, type Key, keyOf } from './priority.js';
import {
  CONTROL_WORDS,
  DONE_EV,
  GETS,
  PUTS,
  decodeRecord,
  FIFO,
  GET_EV,
  GETTERS,
  JOINERS,
  KIND,
  LIFO,
  MAXSIZE,
  HEAD,
  PRIORITY,
  PUT_EV,
  PUTTERS,
  QueueStore,
  RecordRef,
  SHUT,
  TAIL,
  type Taken,
  WHO_GET,
  WHO_JOIN,
  WHO_PUT,
} from './store.js';

/** How long (loads of the counters) a `…Sync` get or put spins before it sleeps (~10-20 µs). */
const SPINS = 2000;

/** Options of `put`/`putSync`. */
export interface PutOptions {
  /** `false`: never wait; throw `QueueFull` at once if the queue is full. Default `true`. */
  block?: boolean;
  /** Milliseconds to wait for room at most (`Infinity`/`undefined`: forever); ignored with `block: false`. */
  timeout?: number;
  /** ArrayBuffers in the item to move rather than copy: they are detached here once the item is in. */
  transfer?: ArrayBuffer[];
  /** Aborting rejects the pending put with the signal's reason; nothing is added (Promise form only). */
  signal?: AbortSignal;
}

/** Options of `get`/`getSync`. */
export interface GetOptions {
  /** `false`: never wait; throw `QueueEmpty` at once if the queue is empty. Default `true`. */
  block?: boolean;
  /** Milliseconds to wait for an item at most (`Infinity`/`undefined`: forever); ignored with `block: false`. */
  timeout?: number;
  /** Aborting rejects the pending get with the signal's reason; nothing is taken (Promise form only). */
  signal?: AbortSignal;
}

/**
 * A queue's buffers (chunks, its items' SharedArrayBuffers) are held by the supervisor until the
 * queue is dropped everywhere. Word 0 of the queue's *refs* buffer counts the Queue objects alive
 * in all threads, plus the encodings of the queue in transit (each revival takes one over); the
 * last object collected lets the supervisor release them. (A thread terminated while it holds a
 * queue never gives its reference back: that queue's buffers then stay until the process ends.)
 *
 * Neither the queue nor its 3 KiB control buffer may be what the finalizer keeps an eye on or
 * holds, or a loop that creates and drops queues piles them up (hundreds of MiB for 200,000
 * queues, even yielding to the event loop every 1,000): V8's young-generation collections treat
 * the targets of a FinalizationRegistry as live, so a registered queue is promoted and freed only
 * by a full collection; and the held value lives until the callback has run, a collection later
 * still. So the registry watches an empty token that only the queue references (the queue itself
 * dies young, and the token with it, a little later), and the count has a 4-byte buffer of its
 * own.
 */
const finalizer = new FinalizationRegistry<{ refs: Int32Array; owner: number }>(({ refs, owner }) => {
  if (Atomics.sub(refs, 0, 1) === 1) releaseOwner(owner);
});

/** `maxsize`: 0, negative, `Infinity` or undefined for unbounded (as Python's), else a whole number. */
function maxsizeOf(value: unknown): number {
  if (value === undefined || value === Number.POSITIVE_INFINITY) return 0;
  if (typeof value !== 'number') throw argTypeError(`Expected \`maxsize\` to be a number, got ${describe(value)}`);
  if (!Number.isInteger(value)) {
    throw argRangeError(`Expected \`maxsize\` to be an integer (0 or less: unbounded), got ${describe(value)}`);
  }
  if (value > 0x7fff_ffff) throw argRangeError(`Expected \`maxsize\` to be at most ${0x7fff_ffff}, got ${value}`);
  return Math.max(0, value);
}

/** `{ block, timeout }` as one timeout: 0 for non-blocking (Python ignores the timeout then). */
function waitOf(o: { block?: unknown; timeout?: unknown }): number {
  // As Python's: with `block: false` the timeout is not looked at, not even checked.
  if (!boolOf(o.block, 'block', true)) return 0;
  return timeoutOf(o.timeout);
}

/**
 * The `transfer` option: ArrayBuffers to detach once the item is in (an item travels as bytes, so
 * there is nothing else a queue could move). Checked here, before the put: detaching comes after
 * the item is published, where a list that cannot be transferred (a non-buffer, a buffer listed
 * twice or already detached) would throw with the item already queued.
 */
function transferOf(value: unknown): Transferable[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw argTypeError(`Expected \`transfer\` to be an array, got ${describe(value)}`);
  const seen = new Set<unknown>();
  for (let i = 0; i < value.length; i++) {
    const b: unknown = value[i];
    if (!(b instanceof ArrayBuffer)) {
      throw argTypeError(
        `Expected \`transfer[${i}]\` to be an ArrayBuffer (a queue moves buffers only), got ${describe(b)}`,
      );
    }
    if (seen.has(b)) throw argTypeError(`\`transfer[${i}]\` lists an ArrayBuffer that is already in the list`);
    if (isDetached(b)) throw argTypeError(`\`transfer[${i}]\` is a detached ArrayBuffer`);
    seen.add(b);
  }
  return value;
}

/** Whether `b` is detached (`ArrayBuffer.prototype.detached` is Node 22+; before, only an empty one can be). */
function isDetached(b: ArrayBuffer): boolean {
  const flag = (b as { detached?: boolean }).detached;
  if (flag !== undefined) return flag;
  if (b.byteLength !== 0) return false;
  try {
    structuredClone(b);
    return false;
  } catch {
    return true;
  }
}

const NO_IDS: number[] = [];
/** Which end of the queue an operation works on (`store.ts`: the mutexes it takes). */
const PUT_SIDE = 1;
const GET_SIDE = 2;
const BOTH = 3;
const TAIL_ONLY = [TAIL] as const;
const HEAD_ONLY = [HEAD] as const;
const TAIL_HEAD = [TAIL, HEAD] as const;
/** `#putLocked`: the index must grow and the head mutex is not free. */
const NEED_HEAD = Symbol('need head');
/** `take`'s answers that are not items: the queue is empty; the mutex was busy (no attempt). */
const EMPTY = Symbol('empty');
const BUSY = Symbol('busy');

function fullError(timeout: number): QueueFull {
  return new QueueFull(
    timeout === 0 ? 'put() with block: false on a full queue' : `put() found the queue full for ${timeout} ms`,
  );
}

function emptyError(timeout: number): QueueEmpty {
  return new QueueEmpty(
    timeout === 0 ? 'get() with block: false on an empty queue' : `get() found the queue empty for ${timeout} ms`,
  );
}

/** What a put carries into the store: its image, its held buffers, its sort key. */
interface Prepared {
  img: Image;
  sabIds: number[];
  key: Key | undefined;
}

/**
 * The machinery every queue kind shares: the mutex around the store, puts and gets in both
 * forms, shutdown. `Queue` and `SimpleQueue` expose it as Python does.
 */
abstract class QueueBase<T> extends SharedPrimitive {
  /** @internal */
  readonly _store: QueueStore;
  /** Puts and gets both take both mutexes (LIFO, PriorityQueue). */
  readonly #bothEnds: boolean;
  /** Small values may skip the image (not a PriorityQueue, whose items need a key). */
  readonly #small: boolean;

  /** @internal Word 0: the Queue objects alive and encodings in transit (see `finalizer`). */
  readonly _refs: Int32Array;
  /** What the finalizer watches in this queue's place (see `finalizer`). */
  readonly #token = {};
  /** Whether `#token` is registered with the finalizer (see `#watch`). */
  #watched = false;

  protected constructor(
    kind: number,
    maxsize: number,
    sab: SharedArrayBuffer | undefined,
    refs: SharedArrayBuffer | undefined,
  ) {
    super(CONTROL_WORDS, sab);
    if (sab === undefined) QueueStore.init(this._i32, kind, maxsize);
    this._refs = new Int32Array(refs ?? new SharedArrayBuffer(4));
    if (refs === undefined) this._refs[0] = 1;
    this._store = new QueueStore(this._i32.buffer as SharedArrayBuffer, uidOf(this._i32));
    this.#bothEnds = this._store.bothEnds;
    this.#small = this._store.kind !== PRIORITY;
    // A revived queue holds a reference (taken over from its transit) that its collection gives
    // back; a new one needs watching only once it holds buffers or is shared.
    if (refs !== undefined) this.#watch();
    else this._store.onHold = () => this.#watch();
  }

  /**
   * Registers the queue with the finalizer, which gives back its reference when it is collected
   * (and, with the last one, the buffers held for it). Done only once there is something to give
   * back: a queue that never held a buffer nor left this thread has nothing to release, and a
   * registration keeps what it holds alive until a full collection (see `finalizer`), which let
   * a loop that creates and drops empty queues pile up half a KiB for each.
   */
  #watch(): void {
    if (this.#watched) return;
    this.#watched = true;
    this._store.onHold = undefined;
    finalizer.register(this.#token, { refs: this._refs, owner: this._store.owner });
  }

  /** @internal Sent to another thread: one more reference in transit, which its revival takes over. */
  override [SHARE](): ShareDescriptor {
    this.#watch();
    Atomics.add(this._refs, 0, 1);
    return super[SHARE]();
  }

  /** @internal The encoding that shared it failed: no transit after all. */
  [UNSHARE](): void {
    Atomics.sub(this._refs, 0, 1);
  }

  /** @internal The refs buffer travels with the control buffer. */
  override _parts(): unknown[] {
    return [this._refs.buffer];
  }

  // ---- diagnostics ------------------------------------------------------------------------

  /** @internal The kind code of the wait records (`shared/records.ts`). */
  _diagKind(): number {
    return this._kind() === 'SimpleQueue' ? K_QUEUE + 3 : K_QUEUE + this._store.kind;
  }

  #waitDesc(op: number): WaitDesc {
    return { kind: this._diagKind(), op, src: this };
  }

  /** @internal For the wait records: the items queued now. */
  _diagDetail(): number {
    return this._store.size();
  }

  // ---- the mutexes ------------------------------------------------------------------------

  /** The mutexes an operation on `side` holds, in the order they are taken (`store.ts`). */
  #locks(side: number): readonly number[] {
    if (side === BOTH || this.#bothEnds) return TAIL_HEAD;
    return side === PUT_SIDE ? TAIL_ONLY : HEAD_ONLY;
  }

  /** Takes the side's mutexes if they are free now. */
  #tryEnter(side: number): boolean {
    const i32 = this._i32;
    const locks = this.#locks(side);
    if (!tryLock(i32, locks[0] as number)) return false;
    if (locks.length > 1 && !tryLock(i32, locks[1] as number)) {
      unlock(i32, locks[0] as number);
      return false;
    }
    this._store.recover();
    return true;
  }

  *#enterSteps(side: number): Steps<void> {
    for (const lock of this.#locks(side)) yield* lockSteps(this._i32, lock);
    this._store.recover();
  }

  #leave(side: number): void {
    const locks = this.#locks(side);
    for (let k = locks.length - 1; k >= 0; k--) unlock(this._i32, locks[k] as number);
  }

  /** Runs `fn` holding the side's mutexes (taken with `enterSteps` or `tryEnter`), releasing them after. */
  #inside<R>(side: number, fn: () => R): R {
    try {
      return fn();
    } finally {
      this.#leave(side);
    }
  }

  // ---- put --------------------------------------------------------------------------------

  /** The image of an item, made before any lock: what cannot travel fails here. */
  protected _prepare(item: T): Prepared {
    const img = imageOf(item, 'item');
    let key: Key | undefined;
    if (this._store.kind === PRIORITY) {
      key = keyOf(item);
      if (img.tag === T_REC) img.key = encodeKey(key);
    }
    if (img.sabs.length === 0) return { img, sabIds: NO_IDS, key };
    this.#watch();
    return { img, sabIds: holdSabs(img.sabs, this._store.owner), key };
  }

  /**
   * With the put side held: adds the item if there is room. `false`: full; `NEED_HEAD`: the
   * index must grow, which needs the head mutex too, not free now. Throws QueueShutDown, TypeError.
   */
  #putLocked(p: Prepared | undefined, tag: number, item: T): boolean | typeof NEED_HEAD {
    const store = this._store;
    if (Atomics.load(this._i32, SHUT) !== 0) throw new QueueShutDown('put() on a queue that is shut down');
    if (store.full()) return false;
    if (store.needsRoom()) {
      if (this.#bothEnds) store.grow();
      else if (tryLock(this._i32, HEAD)) this.#inside(GET_SIDE, () => store.grow());
      else return NEED_HEAD;
    }
    if (p === undefined) store.putSmall(tag, item);
    else store.put(p.img, p.sabIds, p.key);
    return true;
  }

  /** After a put, with the mutexes released: wakes a getter, if one may be sleeping. */
  #afterPut(): void {
    const i32 = this._i32;
    if (Atomics.load(i32, GETTERS) > 0) {
      Atomics.add(i32, PUT_EV, 1);
      Atomics.notify(i32, PUT_EV, 1);
    }
  }

  /** One attempt, if the mutexes are free: true (done), false (full), BUSY (not tried). */
  #tryPut(p: Prepared | undefined, tag: number, item: T): boolean | typeof BUSY {
    if (!this.#tryEnter(PUT_SIDE)) return BUSY;
    let ok: boolean | typeof NEED_HEAD;
    try {
      ok = this.#putLocked(p, tag, item);
    } finally {
      this.#leave(PUT_SIDE);
    }
    if (ok === true) this.#afterPut();
    return ok === NEED_HEAD ? BUSY : ok;
  }

  /** One attempt that waits for the mutexes (not for room): true (done) or false (full). */
  *#putOnce(p: Prepared, before?: () => void): Steps<boolean> {
    for (;;) {
      yield* this.#enterSteps(PUT_SIDE);
      const ok = this.#inside(PUT_SIDE, () => {
        before?.();
        return this.#putLocked(p, 0, undefined as T);
      });
      if (ok === NEED_HEAD) {
        // Grow holding both, in order, then try again.
        yield* this.#enterSteps(BOTH);
        this.#inside(BOTH, () => this._store.needsRoom() && this._store.grow());
        continue;
      }
      if (ok) this.#afterPut();
      return ok;
    }
  }

  /** A put that may wait for room; `spin`: loads of `GETS` before sleeping (sync form only). */
  *#putSteps(p: Prepared, spin: number): Steps<boolean> {
    const i32 = this._i32;
    for (;;) {
      if (yield* this.#putOnce(p)) return true;
      const gets = Atomics.load(i32, GETS);
      let k = 0;
      while (k < spin && Atomics.load(i32, GETS) === gets && Atomics.load(i32, SHUT) === 0) k++;
      if (k < spin) continue;
      // Counted, then the word read, then checked again, then asleep on the word: a get after
      // the check sees the count and bumps the word, so the sleep returns at once.
      Atomics.add(i32, PUTTERS, 1);
      const token = enterWait(i32, WHO_PUT);
      let outcome: string;
      try {
        let ev = 0;
        if (yield* this.#putOnce(p, () => (ev = Atomics.load(i32, GET_EV)))) return true;
        outcome = yield { i32, index: GET_EV, value: ev, poll: true, rec: this.#waitDesc(O_PUT) } satisfies Park;
      } finally {
        Atomics.sub(i32, PUTTERS, 1);
        leaveWait(i32, WHO_PUT, token);
      }
      // One last look after the time ran out, as a timed-out Condition.wait re-checks.
      if (outcome === 'timeout') return yield* this.#putOnce(p);
    }
  }

  /** As `#spinGet`, for a full queue: watch `GETS` a few microseconds for room. */
  #spinPut(p: Prepared): boolean | typeof BUSY {
    const i32 = this._i32;
    for (;;) {
      const gets = Atomics.load(i32, GETS);
      let k = 0;
      while (k < SPINS && Atomics.load(i32, GETS) === gets && Atomics.load(i32, SHUT) === 0) k++;
      if (k === SPINS) return false;
      const ok = this.#tryPut(p, 0, undefined as T);
      if (ok !== false) return ok;
    }
  }

  /** Detaches what the caller asked to move, once the item (a copy of it) is in. */
  #moved(transfer: Transferable[]): void {
    if (transfer.length > 0) structuredClone(undefined, { transfer });
  }

  #unprepare(p: Prepared): void {
    if (p.sabIds.length > 0) dropSabs(p.sabIds, this._store.owner);
  }

  /** The fast path of a put with no options: a small value, the mutexes free, room. */
  #putFast(item: T): boolean {
    const tag = this.#small ? smallTag(item) : 0;
    return tag !== 0 && this.#tryPut(undefined, tag, item) === true;
  }

  /** @internal */
  async _put(item: T, options: PutOptions | undefined, method: string): Promise<void> {
    if (options === undefined && this.#putFast(item)) return;
    const where = `${this._kind()}.${method}`;
    const o = optionsOf(options, where);
    const timeout = waitOf(o);
    const transfer = transferOf(o.transfer);
    const signal = signalOf(o.signal);
    if (signal?.aborted) throw signal.reason;
    const p = this._prepare(item);
    try {
      let ok = this.#tryPut(p, 0, item);
      if (ok === BUSY || (ok === false && timeout > 0)) {
        ok =
          timeout === 0
            ? runSync(this.#putOnce(p), 0)
            : await runAsync(this.#putSteps(p, 0), deadlineOf(timeout), signal);
      }
      if (!ok) throw fullError(timeout);
    } catch (e) {
      this.#unprepare(p);
      throw e;
    }
    this.#moved(transfer);
  }

  /** @internal */
  _putSync(item: T, options: Omit<PutOptions, 'signal'> | undefined, method: string): void {
    if (options === undefined && this.#putFast(item)) return;
    const where = `${this._kind()}.${method}`;
    rejectSignalInSync(options, where);
    const o = optionsOf(options, where);
    const timeout = waitOf(o);
    const transfer = transferOf(o.transfer);
    const p = this._prepare(item);
    try {
      let ok = this.#tryPut(p, 0, item);
      if (ok === false && timeout > 0) ok = this.#spinPut(p);
      if (ok === BUSY || (ok === false && timeout > 0)) {
        ok = timeout === 0 ? runSync(this.#putOnce(p), 0) : runSync(this.#putSteps(p, 0), deadlineOf(timeout));
      }
      if (!ok) throw fullError(timeout);
    } catch (e) {
      this.#unprepare(p);
      throw e;
    }
    this.#moved(transfer);
  }

  // ---- get --------------------------------------------------------------------------------

  /** With the get side held: takes an item if there is one (`EMPTY` if not). Throws QueueShutDown, TypeError. */
  #getLocked(): Taken {
    const store = this._store;
    if (!store.hasItem()) {
      if (Atomics.load(this._i32, SHUT) !== 0) throw new QueueShutDown('get() on a queue that is shut down and empty');
      return EMPTY;
    }
    const taken = store.take();
    // Drained: give back the buffers a burst took, if the put side can be had now (a put in
    // progress will refill the queue anyway).
    if (store.grown() && !store.hasItem()) {
      if (this.#bothEnds) store.shrink();
      else if (tryLock(this._i32, TAIL)) {
        try {
          store.shrink();
        } finally {
          unlock(this._i32, TAIL);
        }
      }
    }
    return taken;
  }

  /** After a get, with the mutexes released: wakes a putter if one may be sleeping; decodes a record. */
  #afterGet(taken: Taken): T {
    const i32 = this._i32;
    if (Atomics.load(i32, PUTTERS) > 0) {
      Atomics.add(i32, GET_EV, 1);
      Atomics.notify(i32, GET_EV, 1);
    }
    if (!(taken instanceof RecordRef)) return taken as T;
    let value: unknown;
    try {
      value = decodeRecord(taken);
    } finally {
      this._store.finish(taken);
    }
    // The item no longer holds its buffers: whoever got it does now.
    if (taken.sabIds.length > 0) dropSabs(taken.sabIds, this._store.owner);
    return value as T;
  }

  /** One attempt, if the mutexes are free: the item, `EMPTY`, or `BUSY`. */
  #tryGet(): Taken {
    if (!this.#tryEnter(GET_SIDE)) return BUSY;
    try {
      return this.#getLocked();
    } finally {
      this.#leave(GET_SIDE);
    }
  }

  *#getOnce(before?: () => void): Steps<Taken> {
    yield* this.#enterSteps(GET_SIDE);
    return this.#inside(GET_SIDE, () => {
      before?.();
      return this.#getLocked();
    });
  }

  /** A get that may wait for an item; `spin`: loads of `PUTS` before sleeping (sync form only). */
  *#getSteps(spin: number): Steps<Taken> {
    const i32 = this._i32;
    for (;;) {
      const taken = yield* this.#getOnce();
      if (taken !== EMPTY) return taken;
      const puts = Atomics.load(i32, PUTS);
      let k = 0;
      while (k < spin && Atomics.load(i32, PUTS) === puts && Atomics.load(i32, SHUT) === 0) k++;
      if (k < spin) continue;
      // Counted, then the word read, then checked again, then asleep on the word: a put after
      // the check sees the count and bumps the word, so the sleep returns at once.
      Atomics.add(i32, GETTERS, 1);
      const token = enterWait(i32, WHO_GET);
      let outcome: string;
      try {
        let ev = 0;
        const again = yield* this.#getOnce(() => (ev = Atomics.load(i32, PUT_EV)));
        if (again !== EMPTY) return again;
        outcome = yield { i32, index: PUT_EV, value: ev, poll: true, rec: this.#waitDesc(O_GET) } satisfies Park;
      } finally {
        Atomics.sub(i32, GETTERS, 1);
        leaveWait(i32, WHO_GET, token);
      }
      if (outcome === 'timeout') return yield* this.#getOnce();
    }
  }

  /** @internal */
  async _get(options: GetOptions | undefined, method: string): Promise<T> {
    let timeout = Number.POSITIVE_INFINITY;
    let signal: AbortSignal | undefined;
    if (options !== undefined) {
      const o = optionsOf(options, `${this._kind()}.${method}`);
      timeout = waitOf(o);
      signal = signalOf(o.signal);
      if (signal?.aborted) throw signal.reason;
    }
    let taken = this.#tryGet();
    if (taken === BUSY || (taken === EMPTY && timeout > 0)) {
      taken =
        timeout === 0 ? runSync(this.#getOnce(), 0) : await runAsync(this.#getSteps(0), deadlineOf(timeout), signal);
    }
    if (taken === EMPTY) throw emptyError(timeout);
    return this.#afterGet(taken);
  }

  /** @internal */
  _getSync(options: Omit<GetOptions, 'signal'> | undefined, method: string): T {
    let timeout = Number.POSITIVE_INFINITY;
    if (options !== undefined) {
      const where = `${this._kind()}.${method}`;
      rejectSignalInSync(options, where);
      timeout = waitOf(optionsOf(options, where));
    }
    let taken = this.#tryGet();
    if (taken === EMPTY && timeout > 0) taken = this.#spinGet();
    if (taken === BUSY || (taken === EMPTY && timeout > 0)) {
      taken = timeout === 0 ? runSync(this.#getOnce(), 0) : runSync(this.#getSteps(0), deadlineOf(timeout));
    }
    if (taken === EMPTY) throw emptyError(timeout);
    return this.#afterGet(taken);
  }

  /**
   * The sync form's first resort on an empty queue: watch `PUTS` (no mutex) for a few
   * microseconds and take the item a producer on another core is about to put. Gives up
   * (`EMPTY`) once a whole spin passes with no put, or `BUSY` when the mutex is taken.
   */
  #spinGet(): Taken {
    const i32 = this._i32;
    for (;;) {
      const puts = Atomics.load(i32, PUTS);
      let k = 0;
      while (k < SPINS && Atomics.load(i32, PUTS) === puts && Atomics.load(i32, SHUT) === 0) k++;
      if (k === SPINS) return EMPTY;
      const taken = this.#tryGet();
      if (taken !== EMPTY) return taken;
    }
  }

  /** @internal Runs `fn` holding the side's mutexes (a blocking wait, never long). */
  _locked<R>(side: number, fn: () => R): R {
    if (!this.#tryEnter(side)) runSync(this.#enterSteps(side), Number.POSITIVE_INFINITY);
    return this.#inside(side, fn);
  }

  // ---- state ------------------------------------------------------------------------------

  /** The number of items in the queue now (a snapshot: other threads may change it at once). */
  qsize(): number {
    return this._store.size();
  }

  /** Whether the queue is empty now (a snapshot). */
  empty(): boolean {
    return this._store.size() === 0;
  }

  /** @internal Wakes every getter and putter (after a shutdown). */
  _wakeAll(): void {
    const i32 = this._i32;
    Atomics.add(i32, PUT_EV, 1);
    Atomics.add(i32, GET_EV, 1);
    Atomics.add(i32, DONE_EV, 1);
    Atomics.notify(i32, PUT_EV);
    Atomics.notify(i32, GET_EV);
    Atomics.notify(i32, DONE_EV);
  }

  /** @internal */
  _waiters(): { getters: number; putters: number; joiners: number } {
    const i32 = this._i32;
    return {
      getters: countWaiters(i32, WHO_GET),
      putters: countWaiters(i32, WHO_PUT),
      joiners: countWaiters(i32, WHO_JOIN),
    };
  }

  /** Yields items until the queue is shut down and drained. Does not call `taskDone()`. */
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      let item: T;
      try {
        item = await this._get(undefined, '[Symbol.asyncIterator]');
      } catch (e) {
        if (e instanceof QueueShutDown) return;
        throw e;
      }
      yield item;
    }
  }
}

/**
 * A FIFO queue shared by any number of producer and consumer threads (and async functions of
 * one thread), mixing Promise and `…Sync` forms freely. Items cross as thread arguments do:
 * any structured-cloneable value, of any size; threadkit primitives and SharedArrayBuffers
 * arrive shared. Python: `queue.Queue` (3.13, with `shutdown`).
 *
 * - `put(item)`: adds it, waiting for room if the queue is bounded (`maxsize`) and full;
 *   `{ block: false }` or a `timeout` (ms) that passes throws `QueueFull`.
 * - `get()`: removes and returns the oldest item, waiting for one; `{ block: false }` or a
 *   `timeout` that passes throws `QueueEmpty`.
 * - `taskDone()` / `join()`: a consumer marks each item it got as done; `join()` waits until
 *   every item ever put has been marked done.
 * - `shutdown()`: puts throw `QueueShutDown`, gets drain what is left then throw it;
 *   `{ immediate: true }` also discards the items (each counted as done).
 *
 * @example
 * const q = new Queue<number>({ maxsize: 100 });
 * const worker = new Thread({
 *   target: (q) => { for (;;) { const n = q.getSync(); if (n < 0) return; q.taskDone(); } },
 *   args: [q],
 * });
 * worker.start();
 * for (let i = 0; i < 1000; i++) await q.put(i);
 * await q.join();
 */
export class Queue<T = unknown> extends QueueBase<T> {
  constructor(options?: { maxsize?: number });
  /** @internal */
  constructor(options: { maxsize?: number } | undefined, revived: SharedArrayBuffer, refs: SharedArrayBuffer);
  constructor(options?: { maxsize?: number }, revived?: SharedArrayBuffer, refs?: SharedArrayBuffer) {
    const kind = (new.target as { _order?: number })._order ?? FIFO;
    const maxsize = revived === undefined ? maxsizeOf(optionsOf(options, new.target.name).maxsize) : 0;
    super(kind, maxsize, revived, refs);
  }

  /** The bound given at construction (0: unbounded). */
  get maxsize(): number {
    return this._i32[MAXSIZE] as number;
  }

  /** Adds an item, waiting for room if the queue is full (see the class comment). */
  put(item: T, options?: PutOptions): Promise<void> {
    return this._put(item, options, 'put');
  }

  /** Blocking twin of `put`. */
  putSync(item: T, options?: Omit<PutOptions, 'signal'>): void {
    this._putSync(item, options, 'putSync');
  }

  /** `putSync(item, { block: false })`: `QueueFull` at once if there is no room. */
  putNowait(item: T): void {
    this._putSync(item, { block: false }, 'putNowait');
  }

  /** Removes and returns an item, waiting for one (see the class comment). */
  get(options?: GetOptions): Promise<T> {
    return this._get(options, 'get');
  }

  /** Blocking twin of `get`. */
  getSync(options?: Omit<GetOptions, 'signal'>): T {
    return this._getSync(options, 'getSync');
  }

  /** `getSync({ block: false })`: `QueueEmpty` at once if there is no item. */
  getNowait(): T {
    return this._getSync({ block: false }, 'getNowait');
  }

  /** Whether the queue is full now (a snapshot; never for an unbounded queue). */
  full(): boolean {
    return this._store.full();
  }

  /**
   * Marks one item got from the queue as done, for `join()`. `RangeError` if called more times
   * than items were put.
   */
  taskDone(): void {
    const zero = this._locked(GET_SIDE, () => {
      this._store.taskDone();
      return this._store.unfinished() === 0;
    });
    if (zero) this.#doneChanged();
  }

  #doneChanged(): void {
    if (Atomics.load(this._i32, JOINERS) > 0) {
      Atomics.add(this._i32, DONE_EV, 1);
      Atomics.notify(this._i32, DONE_EV);
    }
  }

  *#joinSteps(): Steps<void> {
    const i32 = this._i32;
    for (;;) {
      Atomics.add(i32, JOINERS, 1);
      const token = enterWait(i32, WHO_JOIN);
      try {
        // Counted, then the word read, then checked: the last task done after the check sees
        // the count and bumps the word, so the sleep below returns at once.
        const ev = Atomics.load(i32, DONE_EV);
        if (this._store.unfinished() === 0) return;
        yield {
          i32,
          index: DONE_EV,
          value: ev,
          poll: true,
          rec: { kind: this._diagKind(), op: O_JOIN, src: this },
        } satisfies Park;
      } finally {
        Atomics.sub(i32, JOINERS, 1);
        leaveWait(i32, WHO_JOIN, token);
      }
    }
  }

  /** Waits until every item put has been marked done (`taskDone`). Never throws `QueueShutDown`. */
  async join(options?: { signal?: AbortSignal }): Promise<void> {
    const signal = signalOf(optionsOf(options, `${this._kind()}.join`).signal);
    if (signal?.aborted) throw signal.reason;
    if (this._store.unfinished() === 0) return;
    await runAsync(this.#joinSteps(), Number.POSITIVE_INFINITY, signal);
  }

  /** Blocking twin of `join`. */
  joinSync(): void {
    if (this._store.unfinished() === 0) return;
    runSync(this.#joinSteps(), Number.POSITIVE_INFINITY);
  }

  /**
   * Shuts the queue down: puts throw `QueueShutDown` (blocked ones too); gets return what is left,
   * then throw it. `immediate: true` discards the items left, counting each as done, so that
   * `join()` returns once the items already taken are marked done.
   */
  shutdown(options?: { immediate?: boolean }): void {
    const immediate = boolOf(optionsOf(options, `${this._kind()}.shutdown`).immediate, 'immediate', false);
    const released = this._locked(BOTH, () => {
      Atomics.store(this._i32, SHUT, 1);
      return immediate ? this._store.discardAll() : [];
    });
    dropSabs(released, this._store.owner);
    this._wakeAll();
    if (immediate) this.#doneChanged();
  }

  /** @internal */
  _kind(): string {
    const kind = this._i32[KIND];
    return kind === PRIORITY ? 'PriorityQueue' : kind === LIFO ? 'LifoQueue' : 'Queue';
  }

  [inspect.custom](): string {
    const w = this._waiters();
    const shut = Atomics.load(this._i32, SHUT) !== 0 ? ' shutdown' : '';
    return `<${this._kind()}${shut} size=${this.qsize()} maxsize=${this.maxsize} getters=${w.getters} putters=${w.putters} unfinished=${this._store.unfinished()}>`;
  }
}

/** A queue that returns the most recently added item first. Python: `queue.LifoQueue`. */
export class LifoQueue<T = unknown> extends Queue<T> {
  /** @internal */
  static readonly _order: number = LIFO;
}

/**
 * A queue that returns the lowest item first: numbers and bigints by value, strings by code
 * point, arrays element by element like Python tuples (so `[priority, payload]` works with any
 * payload); equal items in insertion order. Comparing `NaN`, or a number with a string, throws
 * `TypeError` from the `put` or `get` that meets it, and leaves the queue unchanged.
 * Python: `queue.PriorityQueue`.
 */
export class PriorityQueue<T = unknown> extends Queue<T> {
  /** @internal */
  static readonly _order: number = PRIORITY;
}

/**
 * An unbounded FIFO queue with no task tracking: `put` never waits. Python: `queue.SimpleQueue`.
 */
export class SimpleQueue<T = unknown> extends QueueBase<T> {
  constructor();
  /** @internal */
  constructor(revived: SharedArrayBuffer, refs: SharedArrayBuffer);
  constructor(revived?: SharedArrayBuffer, refs?: SharedArrayBuffer) {
    super(FIFO, 0, revived, refs);
  }

  /** Adds an item; never waits (the queue is unbounded). */
  put(item: T, options?: { transfer?: ArrayBuffer[] }): void {
    const o = optionsOf(options, 'put');
    this._putSync(item, { transfer: o.transfer }, 'put');
  }

  /** The same as `put`. */
  putNowait(item: T): void {
    this._putSync(item, undefined, 'putNowait');
  }

  /** Removes and returns the oldest item, waiting for one (`QueueEmpty` after `timeout` ms or with `block: false`). */
  get(options?: GetOptions): Promise<T> {
    return this._get(options, 'get');
  }

  /** Blocking twin of `get`. */
  getSync(options?: Omit<GetOptions, 'signal'>): T {
    return this._getSync(options, 'getSync');
  }

  /** `getSync({ block: false })`. */
  getNowait(): T {
    return this._getSync({ block: false }, 'getNowait');
  }

  /** @internal */
  _kind(): string {
    return 'SimpleQueue';
  }

  [inspect.custom](): string {
    return `<SimpleQueue size=${this.qsize()} getters=${this._waiters().getters}>`;
  }
}

for (const [cls, name] of [
  [Queue, 'Queue'],
  [LifoQueue, 'LifoQueue'],
  [PriorityQueue, 'PriorityQueue'],
  [SimpleQueue, 'SimpleQueue'],
] as const) {
  brandClass(cls, name);
}

/** Revives a queue around its control buffer; its transit reference becomes this object's, or is dropped. */
function revive<Q extends QueueBase<unknown>>(
  sab: SharedArrayBuffer | undefined,
  make: (sab: SharedArrayBuffer) => Q,
): Q {
  let made = false;
  const q = revivePrimitive(sab, (s) => {
    made = true;
    return make(s);
  });
  if (!made) Atomics.sub(q._refs, 0, 1);
  return q;
}

const refsOf = (d: ShareDescriptor): SharedArrayBuffer => d.parts?.[0] as SharedArrayBuffer;
defineKind('Queue', (d) => revive(d.sab, (sab) => new Queue(undefined, sab, refsOf(d))));
defineKind('LifoQueue', (d) => revive(d.sab, (sab) => new LifoQueue(undefined, sab, refsOf(d))));
defineKind('PriorityQueue', (d) => revive(d.sab, (sab) => new PriorityQueue(undefined, sab, refsOf(d))));
defineKind('SimpleQueue', (d) => revive(d.sab, (sab) => new SimpleQueue(sab, refsOf(d))));
