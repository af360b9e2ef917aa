import { inspect } from 'node:util';
import { MessageChannel, type MessagePort, receiveMessageOnPort } from 'node:worker_threads';
import { BrokenPoolError, CancelledError, ThreadExitError, TimeoutError } from '../errors.js';
import { longTimeout } from '../shared/clock.js';
import { entryUrl } from '../shared/entries.js';
import { hold, unhold } from '../shared/keepalive.js';
import { H_POOL_SEQ, runtime } from '../shared/runtime.js';
import { Thread } from '../thread/thread.js';
import { decode, discardEncoded, type Encoded, encode, findUncloneable, uncloneableError } from '../wire/codec.js';
import type { Transferable } from '../wire/move.js';
import { task, type TargetDescriptor } from '../wire/target.js';
import { Future, type TaskControl } from '../futures/future.js';
import {
  C_COLLECTED,
  C_DONE,
  C_HALT,
  C_READY,
  C_SLEEPING,
  C_SUBMIT,
  CANCELLED,
  CHANNEL_WORDS,
  COUNT_MASK,
  DONE,
  F_EACH,
  F_PORT_ARGS,
  FREE,
  type FromThread,
  P_CREATOR,
  P_EV,
  P_IDLE_MS,
  P_MIN,
  P_SHUTDOWN,
  P_SLEEPING,
  P_THREADS,
  PENDING,
  POOL_WORDS,
  R_PACKED,
  R_THROWN,
  RETIRED,
  RING,
  RUNNING,
  S_FLAGS,
  S_PAYLOAD,
  S_RAN,
  S_RESULT,
  S_STARTED,
  S_STATE,
  S_TARGET,
  SLOT_END,
  SLOT_WORDS,
  sharedNow,
  slotAt,
  type ToThread,
} from './channel.js';
import { NOT_PACKED, pack, unpack } from './packed.js';
import type { PoolThreadArgs } from './worker-loop.js';

/** The engine's settings, validated by the facade. */
export interface EngineOptions {
  maxThreads: number;
  minThreads: number;
  idleTimeout: number;
  maxQueue: number;
  threadNamePrefix: string;
  initializer: TargetDescriptor | undefined;
  initArgs: Encoded;
  taskTimeout: number;
  resourceLimits: import('node:worker_threads').ResourceLimits | undefined;
}

/** A task, from submission to its outcome. */
class Task implements TaskControl {
  readonly future: Future<unknown>;
  /** Set while its thread owns it (handed over); `n` is its slot number there. */
  worker: PoolThread | undefined;
  n = 0;
  /** The encoded arguments, when they do not fit a slot (packed at hand-over otherwise). */
  encoded: Encoded | undefined;
  cancelTimer: (() => void) | undefined;
  unlisten: (() => void) | undefined;
  /** Its outcome, collected and not yet given to the future. */
  ok = false;
  value: unknown;

  constructor(
    readonly engine: Engine,
    readonly targetId: number,
    readonly args: unknown[],
    public transfer: Transferable[],
    readonly timeout: number,
    readonly each: boolean,
  ) {
    this.future = new Future(this);
  }

  /**
   * Whether its thread has begun it: running, or finished there with its outcome not yet taken
   * in by the completion loop (Python's future is running until its result is set).
   */
  isRunning(): boolean {
    const w = this.worker;
    if (w === undefined) return false;
    const state = Atomics.load(w.ch, slotAt(this.n) + S_STATE);
    return state === RUNNING || state === DONE;
  }

  cancel(force: boolean): boolean {
    return this.engine.cancel(this, force, new CancelledError('the future was cancelled'));
  }
}

/** One pool thread, as the creator sees it. */
class PoolThread {
  readonly ch: Int32Array;
  readonly f64: Float64Array;
  readonly u16: Uint16Array;
  /** Slots published (this side's copy of `C_SUBMIT`) and collected. */
  submitted = 0;
  collected = 0;
  /** The tasks in its ring, by slot number modulo the ring's size (an array: no allocation per task). */
  readonly #slots: (Task | undefined)[] = new Array(RING).fill(undefined);

  setTask(n: number, t: Task): void {
    this.#slots[n & (RING - 1)] = t;
  }

  /** The task of slot `n`, which leaves the table. */
  takeTask(n: number): Task | undefined {
    const k = n & (RING - 1);
    const t = this.#slots[k];
    this.#slots[k] = undefined;
    return t;
  }

  /** The tasks still in its ring, oldest first, which leave the table. */
  takeAll(): Task[] {
    const out: Task[] = [];
    for (let n = this.collected; n !== this.submitted; n = (n + 1) & COUNT_MASK) {
      const t = this.takeTask(n);
      if (t !== undefined) out.push(t);
    }
    return out;
  }

  /**
   * Takes back the tasks at the end of its ring that it has not begun (each withdrawn by the CAS
   * from PENDING that the thread's begin would lose), newest first; stops at the first it began.
   * It skips the withdrawn slots when it gets to them.
   */
  withdrawPending(): Task[] {
    const out: Task[] = [];
    for (let n = this.submitted; n !== this.collected; ) {
      n = (n - 1) & COUNT_MASK;
      const t = this.#slots[n & (RING - 1)];
      if (t === undefined) continue; // withdrawn, or cancelled and taken already
      if (t.encoded !== undefined) break; // its arguments were posted to this thread
      if (Atomics.compareExchange(this.ch, slotAt(n) + S_STATE, PENDING, CANCELLED) !== PENDING) break;
      this.takeTask(n);
      out.push(t);
    }
    return out;
  }

  /** The tasks still in its ring, oldest first. */
  pending(): Task[] {
    const out: Task[] = [];
    for (let n = this.collected; n !== this.submitted; n = (n + 1) & COUNT_MASK) {
      const t = this.#slots[n & (RING - 1)];
      if (t !== undefined) out.push(t);
    }
    return out;
  }
  readonly targets = new Set<number>();
  /** Messages that arrived on its port before the slot they belong to was collected. */
  readonly results = new Map<number, Encoded>();
  /** Why it is being terminated: its running task rejects with this. */
  killedFor: { n: number; error: unknown } | undefined;
  ready = false;
  gone = false;

  constructor(
    readonly index: number,
    readonly thread: Thread<void>,
    readonly channel: SharedArrayBuffer,
    readonly port: MessagePort,
  ) {
    this.ch = new Int32Array(channel);
    this.f64 = new Float64Array(channel);
    this.u16 = new Uint16Array(channel);
  }

  /** Whether tasks may be handed to it: neither gone nor being terminated. */
  get usable(): boolean {
    return !this.gone && this.killedFor === undefined;
  }

  /** Tasks handed over and not collected. */
  get load(): number {
    return (this.submitted - this.collected) & COUNT_MASK;
  }
}

/** Tasks per thread's ring at most (one slot stays free, so `submitted - collected < RING`). */
const RING_MAX = RING - 1;
/** How much queued work (µs) a thread is handed ahead, to size `depth`. */
const AHEAD_US = 500;

/**
 * The pools this thread created and did not shut down, by weak reference: the thread's bootstrap
 * shuts them down, waiting, when its target returns (`thread/worker.ts`: SPEC, "a pool whose
 * creating thread ends is shut down"). Kept in the runtime's slots, by that name, so that the
 * bootstrap needs no import of the pool.
 */
export function ownedPools(): Set<WeakRef<Engine>> {
  const slots = runtime().slots;
  let pools = slots.get('pools') as Set<WeakRef<Engine>> | undefined;
  if (pools === undefined) slots.set('pools', (pools = new Set()));
  return pools;
}

export class Engine {
  readonly options: EngineOptions;
  readonly prefix: string;
  readonly #pool = new Int32Array(new SharedArrayBuffer(POOL_WORDS * 4));
  readonly #threads: PoolThread[] = [];
  readonly #queue: Task[] = [];
  #queueHead = 0;
  #started = 0;
  #outstanding = 0;
  #looping = false;
  #shut = false;
  #broken: BrokenPoolError | undefined;
  /** Target ids by function source or module URL. */
  readonly #targetIds = new Map<string, number>();
  readonly #targetDescriptors: TargetDescriptor[] = [];
  /** Average task duration (µs), from which `depth` follows. */
  #avgUs = 10_000;
  /** Waiters for room (`waitForRoom`) and for the end (`shutdown`). */
  #roomWaiters: (() => void)[] = [];
  #idleWaiters: (() => void)[] = [];
  readonly #scratch = new Int32Array(SLOT_WORDS);
  readonly #scratchF64 = new Float64Array(this.#scratch.buffer);
  readonly #next = [0];

  constructor(options: EngineOptions) {
    this.options = options;
    this.prefix = options.threadNamePrefix || `ThreadPoolExecutor-${Atomics.add(runtime().i32, H_POOL_SEQ, 1)}`;
    const p = this.#pool;
    p[P_MIN] = options.minThreads;
    p[P_IDLE_MS] = Math.min(options.idleTimeout, 0x7fff_ffff);
    p[P_CREATOR] = runtime().ident;
    this.#ref = new WeakRef(this);
    ownedPools().add(this.#ref);
  }

  readonly #ref: WeakRef<Engine>;

  get shut(): boolean {
    return this.#shut;
  }

  get broken(): BrokenPoolError | undefined {
    return this.#broken;
  }

  /** Tasks not finished (queued, handed over or running). */
  get outstanding(): number {
    return this.#outstanding;
  }

  /** Threads alive or starting. */
  get threadCount(): number {
    return this.#threads.length;
  }

  /** Whether one more task fits under `maxQueue` (beyond one per thread, started or starting). */
  hasRoom(): boolean {
    const threads = Math.max(this.#threads.length, Math.min(this.options.maxThreads, this.#outstanding + 1));
    return this.#outstanding - threads < this.options.maxQueue;
  }

  /** Resolves when `hasRoom()`. */
  waitForRoom(): Promise<void> {
    if (this.hasRoom() || this.#shut) return Promise.resolve();
    return new Promise((resolve) => this.#roomWaiters.push(resolve));
  }

  // ---- submission -------------------------------------------------------------------------

  /** Target ids by descriptor (one per function object, `describeTarget`), then by source or URL. */
  readonly #idOfDescriptor = new WeakMap<TargetDescriptor, number>();

  #targetId(d: TargetDescriptor): number {
    const known = this.#idOfDescriptor.get(d);
    if (known !== undefined) return known;
    const key = d.kind === 'fn' ? `f${d.src}` : `m${d.url}#${d.name}`;
    let id = this.#targetIds.get(key);
    if (id === undefined) {
      id = this.#targetDescriptors.push(d) - 1;
      this.#targetIds.set(key, id);
    }
    this.#idOfDescriptor.set(d, id);
    return id;
  }

  /**
   * A new task. Its arguments are packed or encoded now, so that what cannot be sent fails here,
   * at the caller, before anything is queued.
   */
  submit(
    target: TargetDescriptor,
    args: unknown[],
    transfer: Transferable[],
    timeout: number,
    signal: AbortSignal | undefined,
    each: boolean,
  ): Future<unknown> {
    const t = new Task(this, this.#targetId(target), args, transfer, timeout, each);
    if (this.#broken !== undefined) {
      t.future._reject(this.#broken);
      return t.future;
    }
    // Small arguments are packed at hand-over, straight into the slot: here only tried.
    if (transfer.length > 0 || pack(args, this.#scratch, this.#scratchF64, 0, SLOT_END - S_PAYLOAD) === NOT_PACKED) {
      t.encoded = encode(args, 'args');
    }
    if (signal?.aborted) {
      // Aborted before it could start: it never runs, and rejects with the signal's reason (SPEC).
      if (t.encoded !== undefined) discardEncoded(t.encoded);
      t.future._reject(signal.reason);
      return t.future;
    }
    if (signal !== undefined) {
      const onAbort = (): void => {
        this.cancel(t, true, signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      t.unlisten = () => signal.removeEventListener('abort', onAbort);
    }
    this.#outstanding++;
    this.#queue.push(t);
    this.#submitting = t;
    try {
      this.#dispatch();
    } finally {
      this.#submitting = undefined;
    }
    if (t.worker === undefined && t.encoded !== undefined && !t.future.done()) this.#checkCloneable(t);
    this.#loop();
    return t.future;
  }

  /** The task being submitted now: a failure to post its arguments is thrown to the caller. */
  #submitting: Task | undefined;

  /**
   * For a task that waits in the queue: what only structured clone knows it cannot carry (a
   * socket) must fail at `submit` too, not later (a task handed over at once was posted: that did
   * the check). With a transfer list, the arguments are cloned now with it, which checks the list
   * and moves the buffers out of the caller's hands at the call, as a task handed over at once
   * does; the clone waits in the queue with them.
   */
  #checkCloneable(t: Task): void {
    const e = t.encoded as Encoded;
    if (t.transfer.length > 0) {
      let moved: unknown[];
      try {
        moved = structuredClone([e.v, ...t.transfer], { transfer: t.transfer }) as unknown[];
      } catch (cause) {
        this.#drop(t);
        throw uncloneableError(e.v, 'args', cause);
      }
      e.v = moved[0];
      t.transfer = moved.slice(1) as Transferable[];
      return;
    }
    if (findUncloneable(e.v, 'args') === undefined) return;
    this.#drop(t);
    throw uncloneableError(e.v, 'args', new TypeError('could not be cloned'));
  }

  /** Withdraws a task that was never accepted (its submission failed). */
  #drop(t: Task): void {
    t.unlisten?.();
    if (t.encoded !== undefined) discardEncoded(t.encoded);
    t.future._cancelled();
    this.#taskEnded();
  }

  // ---- threads ----------------------------------------------------------------------------

  #startThread(): PoolThread {
    const channel = new SharedArrayBuffer(CHANNEL_WORDS * 4);
    const { port1, port2 } = new MessageChannel();
    const args: PoolThreadArgs = {
      pool: this.#pool.buffer as SharedArrayBuffer,
      channel,
      port: port2,
      initializer: this.options.initializer,
      initArgs: this.options.initArgs,
    };
    Atomics.add(this.#pool, P_THREADS, 1);
    const thread = new Thread<void>({
      target: task<(a: PoolThreadArgs) => Promise<void>>(entryUrl('pool-worker'), 'poolWorker'),
      args: [args],
      transfer: [port2],
      name: `${this.prefix}_${this.#started}`,
      daemon: true,
      resourceLimits: this.options.resourceLimits,
    });
    // Its crash (out of memory…) is reported by the future of the task it ran, not twice.
    thread._unreported();
    try {
      thread.start();
    } catch (e) {
      Atomics.sub(this.#pool, P_THREADS, 1);
      port1.close();
      throw e;
    }
    // The port is read only with receiveMessageOnPort: never started, it holds nothing alive.
    port1.unref();
    const w = new PoolThread(this.#started++, thread, channel, port1);
    this.#threads.push(w);
    void thread._exited().then(() => this.#ended(w));
    return w;
  }

  /** How many tasks a thread is handed ahead: enough for `AHEAD_US` of work, at least one. */
  #depth(): number {
    return Math.max(1, Math.min(RING_MAX, Math.floor(AHEAD_US / Math.max(1, this.#avgUs))));
  }

  /** Hands queued tasks to threads with room, starting threads as needed. */
  #dispatch(): void {
    while (this.#queueHead < this.#queue.length && this.#broken === undefined) {
      const t = this.#queue[this.#queueHead] as Task;
      // A task whose arguments travel on the port goes only to an idle thread: what waits in a
      // ring may be taken back (`#rebalance`) or re-queued when its thread dies, and a posted
      // message (with its transferred buffers) cannot follow it.
      const w = this.#pick(t.encoded !== undefined);
      if (w === undefined) break;
      this.#queue[this.#queueHead++] = undefined as unknown as Task;
      if (!this.#handOver(t, w)) continue;
    }
    if (this.#queueHead > 1024 && this.#queueHead * 2 > this.#queue.length) {
      this.#queue.splice(0, this.#queueHead);
      this.#queueHead = 0;
    }
    if (this.#queueHead === this.#queue.length) this.#rebalance();
    this.#wakeRoomWaiters();
  }

  /**
   * Nothing queued, yet a thread is idle while another still holds tasks it has not begun behind
   * the one it runs (which may run long, or wait for one of them: Python's pool runs queued work
   * on any free thread). Those tasks are taken back and handed out again, in their order.
   */
  #rebalance(): void {
    let idle = false;
    for (const w of this.#threads) if (w.usable && w.load === 0) idle = true;
    if (!idle) return;
    const back: Task[] = [];
    for (const w of this.#threads) {
      if (w.gone || w.load < 2) continue;
      for (const t of w.withdrawPending()) {
        t.worker = undefined;
        t.cancelTimer?.();
        t.cancelTimer = undefined;
        back.push(t);
      }
    }
    if (back.length === 0) return;
    // Oldest first: each list came newest first.
    this.#queue.splice(this.#queueHead, 0, ...back.reverse());
    this.#dispatch();
  }

  /**
   * The thread the next task goes to: an idle one, else a new one, else (unless `idleOnly`) the
   * least loaded with room.
   */
  #pick(idleOnly: boolean): PoolThread | undefined {
    let best: PoolThread | undefined;
    let usable = 0;
    for (const w of this.#threads) {
      if (!w.usable) continue;
      if (w.load === 0) return w;
      usable++;
      if (best === undefined || w.load < best.load) best = w;
    }
    // Shut down or not: a queued task needs a thread (a thread may have died since shutdown()).
    // One being terminated counts no more: its replacement need not wait for its exit.
    if (usable < this.options.maxThreads) {
      try {
        return this.#startThread();
      } catch (e) {
        this.#break(e);
        return undefined;
      }
    }
    if (best !== undefined && !idleOnly && best.load < this.#depth()) return best;
    // No room: take in what the threads finished meanwhile, which frees their slots (the
    // futures are settled by the completion loop). A long synchronous run of submit() calls
    // thereby keeps every thread fed.
    if (best !== undefined && this.#collect()) return this.#pick(idleOnly);
    return undefined;
  }

  /** Publishes task `t` in `w`'s ring. False if it was cancelled meanwhile. */
  #handOver(t: Task, w: PoolThread): boolean {
    if (t.future.done()) return false;
    const n = w.submitted;
    const at = slotAt(n);
    const ch = w.ch;
    const target = t.targetId;
    if (!w.targets.has(target)) {
      w.port.postMessage({
        t: 'target',
        id: target,
        target: this.#targetDescriptors[target] as TargetDescriptor,
      } satisfies ToThread);
      w.targets.add(target);
    }
    let flags = t.each ? F_EACH : 0;
    if (t.encoded === undefined) pack(t.args, ch, w.f64, at + S_PAYLOAD, at + SLOT_END);
    else {
      flags |= F_PORT_ARGS;
      const e = t.encoded as Encoded;
      try {
        w.port.postMessage({ t: 'args', n, args: e } satisfies ToThread, t.transfer);
      } catch (cause) {
        const error = uncloneableError(e.v, 'args', cause);
        if (t === this.#submitting) {
          this.#drop(t);
          throw error;
        }
        this.#finish(t, false, error);
        return false;
      }
    }
    ch[at + S_TARGET] = target;
    ch[at + S_FLAGS] = flags;
    Atomics.store(ch, at + S_STATE, PENDING);
    const next = (n + 1) & COUNT_MASK;
    if (Atomics.compareExchange(ch, C_SUBMIT, n, next) !== n) {
      // The thread retired meanwhile: the task goes back to the front of the queue.
      Atomics.store(ch, at + S_STATE, FREE);
      w.gone = true;
      this.#queue[--this.#queueHead] = t;
      return false;
    }
    w.submitted = next;
    w.setTask(n, t);
    t.worker = w;
    t.n = n;
    if (Atomics.load(ch, C_SLEEPING) !== 0) Atomics.notify(ch, C_SUBMIT, 1);
    const timeout = t.timeout;
    if (timeout !== Number.POSITIVE_INFINITY) this.#watchTimeout(t, timeout);
    return true;
  }

  /**
   * Kills task `t` if it is still running `timeout` ms after it began. The creator learns when
   * it began only from its slot, so the check runs at the earliest moment it could be due and
   * is put off again while the task has not begun.
   */
  #watchTimeout(t: Task, timeout: number): void {
    const check = (): void => {
      const w = t.worker;
      if (w === undefined || t.future.done()) return;
      const at = slotAt(t.n);
      const state = Atomics.load(w.ch, at + S_STATE);
      if (state === PENDING) {
        t.cancelTimer = longTimeout(check, timeout);
        return;
      }
      if (state !== RUNNING) return;
      const left = (w.f64[(at + S_STARTED) >> 1] as number) + timeout - sharedNow();
      if (left > 0) t.cancelTimer = longTimeout(check, left);
      else
        this.#kill(
          w,
          t,
          new TimeoutError(`the task ran longer than its timeout of ${timeout} ms; its thread was terminated`),
        );
    };
    t.cancelTimer = longTimeout(check, timeout);
  }

  // ---- completion -------------------------------------------------------------------------

  /** Runs the completion loop while tasks are outstanding (one loop per pool). */
  #loop(): void {
    if (this.#looping) return;
    this.#looping = true;
    hold();
    void this.#run();
  }

  async #run(): Promise<void> {
    const pool = this.#pool;
    try {
      while (this.#outstanding > 0) {
        if (this.#collect() || this.#outcomes.length > 0) {
          this.#dispatch();
          this.#settleOutcomes();
          // Let the futures' callbacks run before the next pass.
          await undefined;
          continue;
        }
        Atomics.store(pool, P_SLEEPING, 1);
        const ev = Atomics.load(pool, P_EV);
        if (this.#collect()) {
          Atomics.store(pool, P_SLEEPING, 0);
          this.#dispatch();
          this.#settleOutcomes();
          await undefined;
          continue;
        }
        const r = Atomics.waitAsync(pool, P_EV, ev);
        if (r.async) await r.value;
        Atomics.store(pool, P_SLEEPING, 0);
      }
    } finally {
      this.#looping = false;
      unhold();
      for (const w of this.#idleWaiters.splice(0)) w();
    }
  }

  /** Collects every outcome published so far. Returns whether there was any. */
  #collect(): boolean {
    let any = false;
    for (let k = 0; k < this.#threads.length; k++) {
      const w = this.#threads[k] as PoolThread;
      if (w.ready === false) {
        const ready = Atomics.load(w.ch, C_READY);
        if (ready === 1) w.ready = true;
        else if (ready === -1) {
          this.#initFailed(w);
          return true;
        }
      }
      const done = Atomics.load(w.ch, C_DONE);
      while (w.collected !== done) {
        this.#collectSlot(w, w.collected);
        w.collected = (w.collected + 1) & COUNT_MASK;
        any = true;
      }
      if (any) Atomics.store(w.ch, C_COLLECTED, w.collected);
    }
    return any;
  }

  #collectSlot(w: PoolThread, n: number): void {
    const at = slotAt(n);
    const ch = w.ch;
    const t = w.takeTask(n);
    const state = ch[at + S_STATE] as number;
    ch[at + S_STATE] = FREE;
    if (t === undefined) return;
    t.worker = undefined;
    if (state === CANCELLED) return; // settled when it was cancelled
    this.#avgUs += ((w.f64[(at + S_RAN) >> 1] as number) * 1000 - this.#avgUs) / 8;
    const kind = ch[at + S_RESULT] as number;
    let ok = kind !== R_THROWN;
    let value: unknown;
    try {
      if (kind === R_PACKED) value = unpack(ch, w.f64, w.u16, at + S_PAYLOAD, this.#next);
      else {
        const e = this.#message(w, n);
        value = decode(e.v, e.s, w.thread.name);
      }
    } catch (e) {
      ok = false;
      value = e;
    }
    t.ok = ok;
    t.value = value;
    this.#outcomes.push(t);
  }

  /** The message thread `w` posted for slot `n` (results arrive in slot order). */
  #message(w: PoolThread, n: number): Encoded {
    const early = w.results.get(n);
    if (early !== undefined) {
      w.results.delete(n);
      return early;
    }
    for (;;) {
      const m = receiveMessageOnPort(w.port)?.message as FromThread | undefined;
      if (m === undefined) throw new Error(`threadkit: the outcome of a task on ${w.thread.name} never arrived`);
      if (m.n === n) return m.v;
      w.results.set(m.n, m.v);
    }
  }

  #finish(t: Task, ok: boolean, value: unknown): void {
    t.cancelTimer?.();
    t.unlisten?.();
    this.#taskEnded();
    if (ok) t.future._resolve(value);
    else t.future._reject(value);
  }

  /**
   * One task fewer outstanding. The last one may end outside the completion loop (cancelled,
   * failed with the pool, its thread killed): the loop, asleep on the doorbell, is woken to
   * notice and let the process go.
   */
  #taskEnded(): void {
    if (--this.#outstanding === 0 && this.#looping) {
      Atomics.add(this.#pool, P_EV, 1);
      Atomics.notify(this.#pool, P_EV);
    }
  }

  /**
   * Outcomes read from the rings, not yet given to their futures. Collecting frees a slot at
   * once (a thread never waits for the creator's callbacks); the futures are settled by the
   * completion loop, never in the middle of a `submit()` (their callbacks run user code).
   */
  #outcomes: Task[] = [];

  #settleOutcomes(): void {
    const list = this.#outcomes;
    if (list.length === 0) return;
    this.#outcomes = [];
    for (const t of list) this.#finish(t, t.ok, t.value);
    this.#wakeRoomWaiters();
  }

  #wakeRoomWaiters(): void {
    if (this.#roomWaiters.length === 0 || !(this.hasRoom() || this.#shut)) return;
    for (const w of this.#roomWaiters.splice(0)) w();
  }

  // ---- cancellation and faults ------------------------------------------------------------

  /**
   * Cancels task `t` with `reason` as its error (a `CancelledError` for `cancel()`, the signal's
   * reason for an abort): a task not begun is withdrawn (its slot CAS from PENDING); a running
   * one only with `force`, by terminating its thread.
   */
  cancel(t: Task, force: boolean, reason: unknown): boolean {
    if (t.future.done()) return t.future.cancelled();
    const w = t.worker;
    if (w === undefined) {
      // Still queued here: it stays in the queue, which skips what is done.
      this.#settleCancelled(t, reason);
      return true;
    }
    const at = slotAt(t.n);
    if (Atomics.compareExchange(w.ch, at + S_STATE, PENDING, CANCELLED) === PENDING) {
      // The thread skips it; the slot is freed when collected.
      this.#settleCancelled(t, reason);
      return true;
    }
    if (!force) return false;
    return this.#kill(w, t, reason);
  }

  #settleCancelled(t: Task, reason: unknown): void {
    t.cancelTimer?.();
    t.unlisten?.();
    if (t.encoded !== undefined && t.worker === undefined) discardEncoded(t.encoded);
    this.#taskEnded();
    if (reason instanceof CancelledError) t.future._cancelled();
    else t.future._reject(reason);
    this.#wakeRoomWaiters();
  }

  /**
   * Terminates `w`, whose running task `t` then settles with `error`. False if `t` is no longer
   * running: it finished meanwhile, and the thread lives on. The thread is first told to begin
   * no other task (`C_HALT`), then `t` is looked at again: a task that was still running then
   * can only be followed by a task the thread will not begin, so the kill never takes down a
   * task that began after the decision.
   */
  #kill(w: PoolThread, t: Task, error: unknown): boolean {
    if (w.killedFor !== undefined) return w.killedFor.n === t.n;
    Atomics.store(w.ch, C_HALT, 1);
    if (Atomics.load(w.ch, slotAt(t.n) + S_STATE) !== RUNNING) {
      Atomics.store(w.ch, C_HALT, 0);
      Atomics.notify(w.ch, C_HALT);
      return false;
    }
    w.killedFor = { n: t.n, error };
    if (error instanceof CancelledError) {
      t.future._cancelled();
      t.cancelTimer?.();
      t.unlisten?.();
      this.#taskEnded();
      w.takeTask(t.n);
    }
    void w.thread.terminate();
    return true;
  }

  /** A thread ended: retired, or died. */
  #ended(w: PoolThread): void {
    const i = this.#threads.indexOf(w);
    if (i >= 0) this.#threads.splice(i, 1);
    w.gone = true;
    const retired = (Atomics.load(w.ch, C_SUBMIT) & RETIRED) !== 0;
    // What it published before it ended is as good as ever.
    const done = Atomics.load(w.ch, C_DONE);
    while (w.collected !== done) {
      this.#collectSlot(w, w.collected);
      w.collected = (w.collected + 1) & COUNT_MASK;
    }
    this.#settleOutcomes();
    w.port.close();
    if (!retired) {
      // A thread that died never took itself off the count.
      Atomics.sub(this.#pool, P_THREADS, 1);
      if (!w.ready && Atomics.load(w.ch, C_READY) !== 1 && w.killedFor === undefined) {
        // It died before it was ready: replacing it would likely die the same way, so nothing is
        // dispatched (no respawn storm) and the pool breaks, failing the tasks already handed
        // to it too (they were no longer in any thread's list: they hung).
        void w.thread.result().then(
          () => this.#break(new ThreadExitError(`pool thread ${w.thread.name} ended before it was ready`), w),
          (e: unknown) => this.#break(e, w),
        );
        return;
      }
      void this.#orphan(w);
    }
    this.#dispatch();
    if (this.#outstanding > 0) this.#loop();
  }

  /** The tasks of a thread that died: the running one fails, the others go elsewhere. */
  async #orphan(w: PoolThread): Promise<void> {
    const exit = await w.thread.result().then(
      () => new ThreadExitError(`pool thread ${w.thread.name} ended`),
      (e: unknown) => e,
    );
    const requeue: Task[] = [];
    for (const t of w.takeAll()) {
      const n = t.n;
      t.worker = undefined;
      if (t.future.done()) continue;
      const state = Atomics.load(w.ch, slotAt(n) + S_STATE);
      if (state === PENDING && t.transfer.length === 0) {
        requeue.push(t);
        continue;
      }
      const error = w.killedFor?.n === n ? w.killedFor.error : exit;
      this.#finish(t, false, error);
    }
    this.#queue.splice(this.#queueHead, 0, ...requeue);
    this.#dispatch();
    if (this.#outstanding > 0) this.#loop();
  }

  #initFailed(w: PoolThread): void {
    let cause: unknown = new Error(`the initializer of ${w.thread.name} failed`);
    try {
      const e = this.#message(w, -1);
      cause = decode(e.v, e.s, w.thread.name);
    } catch {
      // keep the generic cause
    }
    this.#break(cause);
  }

  /**
   * The pool can run no more tasks: every task not finished, and every later one, fails
   * (`dead`: a thread already gone whose tasks fail too).
   */
  #break(cause: unknown, dead?: PoolThread): void {
    // Two threads may die at start-up before either death is handled: the second one's tasks
    // fail too, with the pool already broken by the first.
    if (this.#broken !== undefined) {
      if (dead !== undefined) this.#failTasksOf(dead, this.#broken);
      return;
    }
    const message = cause instanceof Error ? cause.message : inspect(cause);
    this.#broken = new BrokenPoolError(
      `A thread of the pool ${this.prefix} failed to start, so the pool cannot run tasks: ${message}`,
      { cause },
    );
    const error = this.#broken;
    // A cancelled task stays in the queue, or in a ring until collected: it ended already and
    // must not be counted off `outstanding` twice.
    for (const t of this.#queue.splice(this.#queueHead))
      if (t !== undefined && !t.future.done()) this.#finish(t, false, error);
    this.#queue.length = 0;
    this.#queueHead = 0;
    for (const w of dead === undefined ? this.#threads : [...this.#threads, dead]) {
      this.#failTasksOf(w, error);
      void w.thread.terminate();
    }
    this.#wakeRoomWaiters();
    Atomics.store(this.#pool, P_SHUTDOWN, 1);
  }

  #failTasksOf(w: PoolThread, error: BrokenPoolError): void {
    for (const t of w.takeAll()) if (!t.future.done()) this.#finish(t, false, error);
  }

  // ---- shutdown ---------------------------------------------------------------------------

  /** No more tasks; `cancelQueued` cancels those not begun. Resolves when everything ended (`wait`). */
  async shutdown(wait: boolean, cancelQueued: boolean): Promise<void> {
    this.#shut = true;
    ownedPools().delete(this.#ref);
    if (cancelQueued) {
      for (const t of this.#queue.slice(this.#queueHead))
        if (t !== undefined) this.cancel(t, false, new CancelledError('cancelled by shutdown'));
      for (const w of this.#threads)
        for (const t of w.pending()) this.cancel(t, false, new CancelledError('cancelled by shutdown'));
    }
    this.#wakeRoomWaiters();
    // The threads are told to leave only once no task is outstanding, with `wait: false` too:
    // the queued tasks still need them (Python: pending futures run before the program exits).
    if (this.#outstanding > 0) {
      const drained = new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
      if (!wait) {
        void drained.then(() => this.#release());
        return;
      }
      await drained;
    }
    this.#release();
    if (wait) await Promise.all(this.#threads.map((w) => w.thread.join()));
  }

  /** Tells the threads of a shut-down pool, idle now, to leave. */
  #release(): void {
    Atomics.store(this.#pool, P_SHUTDOWN, 1);
    for (const w of this.#threads) Atomics.notify(w.ch, C_SUBMIT);
  }
}
