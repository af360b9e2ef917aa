/**
 * What a pool thread runs (its target): take the tasks the creator publishes in this thread's
 * channel (`channel.ts`), one at a time, in order; publish each outcome; sleep when there is
 * nothing to do; leave after `idleTimeout` if the pool can spare it, at shutdown, or when the
 * creating thread is gone.
 *
 * A thread that finds no task spins a few tens of microseconds before it sleeps (a creator
 * submitting a stream of tiny tasks then never pays a futex wake-up), and sleeps in slices of at
 * most a second, so an idle pool costs no measurable CPU.
 */
import { type MessagePort, receiveMessageOnPort } from 'node:worker_threads';
import { EXITED, runtime, State, STATE_MASK, statusOf } from '../shared/runtime.js';
import { decode, type Encoded, encode, encodeThrown, uncloneableError } from '../wire/codec.js';
import type { Transferable } from '../wire/move.js';
import { explainOuterReference, loadTarget, type TargetDescriptor } from '../wire/target.js';
import {
  C_DONE,
  C_HALT,
  C_READY,
  C_SLEEPING,
  C_SUBMIT,
  C_TAKEN,
  CANCELLED,
  COUNT_MASK,
  DONE,
  F_EACH,
  F_PORT_ARGS,
  type FromThread,
  P_CREATOR,
  P_EV,
  P_IDLE_MS,
  P_MIN,
  P_SHUTDOWN,
  P_SLEEPING,
  P_THREADS,
  PENDING,
  R_PACKED,
  R_PORT,
  R_THROWN,
  RETIRED,
  RUNNING,
  S_FLAGS,
  S_PAYLOAD,
  S_RAN,
  S_RESULT,
  S_STARTED,
  S_STATE,
  S_TARGET,
  SLOT_END,
  sharedNow,
  slotAt,
  type ToThread,
} from './channel.js';
import { NOT_PACKED, pack, unpack } from './packed.js';

/** How long (loads of `C_SUBMIT`) an idle thread spins before it sleeps (~20-50 µs). */
const SPINS = 2000;
/** The longest sleep between looks at the creator's health and the pool's state. */
const SLICE_MS = 1000;

/** What a pool thread is started with (its `args`). */
export interface PoolThreadArgs {
  pool: SharedArrayBuffer;
  channel: SharedArrayBuffer;
  port: MessagePort;
  initializer: TargetDescriptor | undefined;
  initArgs: Encoded;
}

type Fn = (...args: unknown[]) => unknown;

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (
    (typeof v === 'object' || typeof v === 'function') &&
    v !== null &&
    typeof (v as { then?: unknown }).then === 'function'
  );
}

/** Encodes what a target threw, as thread outcomes are (`thread/worker.ts`). */
function encodeError(error: unknown): Encoded {
  explainOuterReference(error);
  try {
    const e = encodeThrown(error, 'error');
    structuredClone(e.v);
    return e;
  } catch {
    return { v: String(error), s: false };
  }
}

/** The pool thread's target. Returns when the thread leaves the pool. */
export async function poolWorker(a: PoolThreadArgs): Promise<void> {
  const pool = new Int32Array(a.pool);
  const ch = new Int32Array(a.channel);
  const f64 = new Float64Array(a.channel);
  const u16 = new Uint16Array(a.channel);
  const port = a.port;
  const i32 = runtime().i32;
  const creator = Atomics.load(pool, P_CREATOR);
  const targets = new Map<number, Fn | Promise<Fn>>();
  const portArgs = new Map<number, Encoded>();
  const next = [0];

  /** Wakes the creator's completion loop if it may be asleep. */
  const bell = (): void => {
    if (Atomics.load(pool, P_SLEEPING) !== 0) {
      Atomics.add(pool, P_EV, 1);
      Atomics.notify(pool, P_EV);
    }
  };

  /** Reads the creator's messages up to the one `want` says is there. */
  const drainUntil = (want: () => boolean): void => {
    while (!want()) {
      const m = receiveMessageOnPort(port)?.message as ToThread | undefined;
      if (m === undefined) throw new Error('threadkit: a pool task arrived without its target or arguments');
      if (m.t === 'target') targets.set(m.id, loadTarget(m.target) as Fn | Promise<Fn>);
      else portArgs.set(m.n, m.args);
    }
  };

  const post = (m: FromThread, transfer?: Transferable[]): void => port.postMessage(m, transfer);

  if (a.initializer !== undefined) {
    try {
      const init = await loadTarget(a.initializer);
      const r = init(...(decode(a.initArgs.v, a.initArgs.s) as unknown[]));
      if (isThenable(r)) await r;
    } catch (e) {
      post({ t: 'result', n: -1, v: encodeError(e) });
      Atomics.store(ch, C_READY, -1);
      bell();
      return;
    }
  }
  Atomics.store(ch, C_READY, 1);
  bell();

  const creatorGone = (): boolean => {
    const s = statusOf(i32, creator);
    return (s & EXITED) !== 0 || (s & STATE_MASK) === State.Died;
  };

  let taken = Atomics.load(ch, C_TAKEN);
  let idleSince = performance.now();
  for (;;) {
    const submit = Atomics.load(ch, C_SUBMIT);
    if (taken !== (submit & COUNT_MASK)) {
      // The creator may be about to terminate this thread for the task it just ran: begin
      // nothing until it has decided (it clears the word if the task ended in time).
      while (Atomics.load(ch, C_HALT) !== 0) Atomics.wait(ch, C_HALT, 1, SLICE_MS);
      const at = slotAt(taken);
      taken = (taken + 1) & COUNT_MASK;
      // Begin it, unless the creator cancelled it first (one CAS decides).
      const begun = Atomics.compareExchange(ch, at + S_STATE, PENDING, RUNNING) === PENDING;
      if (begun) f64[(at + S_STARTED) >> 1] = sharedNow();
      Atomics.store(ch, C_TAKEN, taken);
      if (begun) {
        const later = run(at, taken - 1);
        if (later !== undefined) await later;
      } else Atomics.store(ch, at + S_STATE, CANCELLED);
      Atomics.store(ch, C_DONE, taken);
      bell();
      idleSince = performance.now();
      continue;
    }
    // Nothing to do: spin, then sleep, then see whether to leave.
    let k = 0;
    while (k < SPINS && Atomics.load(ch, C_SUBMIT) === submit) k++;
    if (k < SPINS) continue;
    Atomics.store(ch, C_SLEEPING, 1);
    const idle = performance.now() - idleSince;
    const idleMs = Atomics.load(pool, P_IDLE_MS);
    const shutdown = Atomics.load(pool, P_SHUTDOWN) !== 0;
    if (Atomics.load(ch, C_SUBMIT) === submit) {
      if ((shutdown || idle >= idleMs || creatorGone()) && leave(submit, shutdown || creatorGone())) return;
      // Past its idle timeout a thread still here is one `minThreads` keeps: it sleeps whole
      // slices. (Sleeping only until the timeout, which has passed, woke it every millisecond:
      // an idle pool with minThreads burned ~3.5% of a core per thread.)
      const left = idleMs - idle;
      Atomics.wait(ch, C_SUBMIT, submit, left > 0 ? Math.max(1, Math.min(SLICE_MS, left)) : SLICE_MS);
    }
    Atomics.store(ch, C_SLEEPING, 0);
  }

  /**
   * Leaves the pool if it can spare this thread (`force`: it is shut down or its creator is
   * gone) and no task was published meanwhile. The count goes down first, so the pool never
   * drops below `minThreads`; the RETIRED bit is set by a CAS that fails if a task came.
   */
  function leave(submit: number, force: boolean): boolean {
    for (;;) {
      const n = Atomics.load(pool, P_THREADS);
      if (!force && n <= Atomics.load(pool, P_MIN)) return false;
      if (Atomics.compareExchange(pool, P_THREADS, n, n - 1) === n) break;
    }
    if (Atomics.compareExchange(ch, C_SUBMIT, submit, submit | RETIRED) === submit) {
      port.close();
      bell();
      return true;
    }
    Atomics.add(pool, P_THREADS, 1);
    return false;
  }

  /**
   * Runs the task in the slot at word `at` (slot number `n`) and publishes its outcome. A task
   * that completes synchronously is published before this returns (no Promise is made: tiny
   * tasks pay no microtask turn); otherwise it returns the Promise of its publication.
   */
  function run(at: number, n: number): Promise<void> | undefined {
    try {
      const id = ch[at + S_TARGET] as number;
      if (!targets.has(id)) drainUntil(() => targets.has(id));
      const fn = targets.get(id) as Fn | Promise<Fn>;
      if (isThenable(fn)) {
        // A module target still loading: the first task of it waits for it.
        return fn.then(
          (loaded) => {
            targets.set(id, loaded);
            return run(at, n);
          },
          (e: unknown) => publish(at, n, e, true),
        );
      }
      const flags = ch[at + S_FLAGS] as number;
      let args: unknown[];
      if (flags & F_PORT_ARGS) {
        if (!portArgs.has(n)) drainUntil(() => portArgs.has(n));
        const e = portArgs.get(n) as Encoded;
        portArgs.delete(n);
        args = decode(e.v, e.s) as unknown[];
      } else args = unpack(ch, f64, u16, at + S_PAYLOAD, next) as unknown[];
      if (flags & F_EACH)
        return each(fn, args[0] as unknown[]).then(
          (v) => publish(at, n, v, false),
          (e: unknown) => publish(at, n, e, true),
        );
      const value = fn.apply(undefined, args);
      if (isThenable(value)) {
        return Promise.resolve(value).then(
          (v) => publish(at, n, v, false),
          (e: unknown) => publish(at, n, e, true),
        );
      }
      publish(at, n, value, false);
    } catch (e) {
      publish(at, n, e, true);
    }
    return undefined;
  }

  /** A `map` chunk: the target on each item in turn, each awaited. */
  async function each(fn: Fn, items: unknown[]): Promise<unknown[]> {
    const out: unknown[] = [];
    for (const item of items) {
      let r = fn(item);
      if (isThenable(r)) r = await r;
      out.push(r);
    }
    return out;
  }

  /** Writes the outcome of slot `n`: packed in the slot, or on the port. */
  function publish(at: number, n: number, value: unknown, thrown: boolean): void {
    if (thrown) {
      post({ t: 'result', n, v: encodeError(value) });
      ch[at + S_RESULT] = R_THROWN;
    } else if (pack(value, ch, f64, at + S_PAYLOAD, at + SLOT_END) !== NOT_PACKED) {
      ch[at + S_RESULT] = R_PACKED;
    } else {
      // The general path; the buffers of every move() in the result are moved, not copied.
      const transfer = new Set<Transferable>();
      try {
        const e = encode(value, 'result', undefined, transfer);
        try {
          post({ t: 'result', n, v: e }, [...transfer]);
        } catch (cause) {
          throw uncloneableError(e.v, 'result', cause);
        }
        ch[at + S_RESULT] = R_PORT;
      } catch (error) {
        post({ t: 'result', n, v: encodeError(error) });
        ch[at + S_RESULT] = R_THROWN;
      }
    }
    f64[(at + S_RAN) >> 1] = sharedNow() - (f64[(at + S_STARTED) >> 1] as number);
    Atomics.store(ch, at + S_STATE, DONE);
  }
}
