/**
 * Helpers of the heavy test tiers (stress, property, fault, resources). Imported by those test
 * files and, for the property tests' long-lived actor threads, loaded *inside* threads through
 * `task(import.meta.url, …)`: keep this module free of side effects.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { Thread, task } from 'threadkit';
import { runNode, withDeadline } from './helpers.js';

/** An Int32Array of `n` words over a new SharedArrayBuffer. */
export function sharedInt32(n: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4 * n));
}

const tracked = new Set<Thread<any>>();

/** Remembers a started thread so that `terminateTracked()` can end it if a test fails early. */
export function track<T extends Thread<any>>(t: T): T {
  tracked.add(t);
  return t;
}

/**
 * Terminates every tracked thread still alive (use in `afterEach`): a test that fails while a
 * thread is blocked must not leave it to keep the test process alive.
 */
export async function terminateTracked(): Promise<void> {
  const alive = [...tracked].filter((t) => t.isAlive());
  tracked.clear();
  await Promise.all(alive.map((t) => t.terminate()));
}

/** Starts one thread per argument list, all running `fn` (tracked). */
export function startAll<R>(fn: (...args: any[]) => R | Promise<R>, argLists: unknown[][]): Thread<Awaited<R>>[] {
  return argLists.map((args) => {
    const t = track(new Thread<Awaited<R>>({ target: fn as (...a: any[]) => Awaited<R>, args }));
    t.start();
    return t;
  });
}

/**
 * The results of every thread, or a failure after `ms` that shows `state` (the threads are
 * terminated then, so the test process can still exit).
 */
export async function resultsOf<R>(threads: Thread<R>[], ms: number, state?: unknown): Promise<R[]> {
  return withDeadline(Promise.all(threads.map((t) => t.result())), ms, state, async () => {
    await Promise.all(threads.map((t) => t.terminate()));
  });
}

/** How many waiters `util.inspect` reports for a primitive (`waiters=N`). */
export function waitersOf(p: unknown): number {
  const m = /waiters=(\d+)/.exec(inspect(p));
  if (m === null) throw new Error(`no waiters= in ${inspect(p)}`);
  return Number(m[1]);
}

/**
 * Resolves once `pred()` holds, checking every millisecond; rejects after `ms` showing `state`.
 * For the one thing no primitive can announce: that another thread has *reached* a wait.
 */
export function until(pred: () => boolean, ms: number, state?: unknown): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const poll = new Promise<void>((resolve) => {
    const tick = (): void => {
      if (pred()) resolve();
      else timer = setTimeout(tick, 1);
    };
    timer = setTimeout(tick, 0);
  });
  return withDeadline(poll, ms, state).finally(() => clearTimeout(timer));
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Collects `process.on('warning')` events of this thread until `stop()` is called. */
export function captureWarnings(): { warnings: Error[]; stop(): void } {
  const warnings: Error[] = [];
  const on = (w: Error): void => {
    warnings.push(w);
  };
  process.on('warning', on);
  return { warnings, stop: () => process.off('warning', on) };
}

/**
 * Runs an ESM program given as source text from a temporary file (its `'threadkit'` imports
 * pointed at the built package), with `nodeArgs` (e.g. `--expose-gc`) before the file name:
 * `runScript` takes no node flags.
 */
export async function runProgram(source: string, { timeout = 60_000, nodeArgs = [] as string[] } = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'threadkit-test-'));
  const file = join(dir, 'program.mjs');
  const url = import.meta.resolve('threadkit');
  await writeFile(file, source.replaceAll(/from 'threadkit'/g, `from '${url}'`));
  try {
    return await runNode([...nodeArgs, file], { timeout });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// ---- actors for the property tests -------------------------------------------------------------
//
// A property test runs many random schedules against one primitive. Starting threads for every
// schedule would cost more than the schedules themselves, so each property starts a few *actor*
// threads once; each run, the main thread writes one program per actor into a shared control
// buffer and bumps a generation word; the actors run their programs (the thread actors with the
// sync API, extra actors on the main thread with the async API, concurrently) and record what
// they saw in shared words that the test then checks against its model.
//
// The interpreters live here, in a module, because actor threads load them with
// `task(import.meta.url, 'actorLoop')`.

/** Operation codes of actor programs; each op is two words: code and argument. */
export const OP = {
  ACQ: 1, // blocking acquire, no timeout (an actor that already holds turns it into ACQ_T 5)
  ACQ_NB: 2, // { blocking: false }
  ACQ_T: 3, // { timeout: arg } ms
  REL: 4, // release (arg permits for a Semaphore)
  WORK: 5, // busy for arg microseconds
  YIELD: 6, // let other tasks of this thread run (async actors)
  SET: 7,
  CLEAR: 8,
  WAIT_T: 9, // Event.wait({ timeout: arg })
  ISSET: 10,
  WAIT_C: 11, // Condition wait, timeout arg ms (FOREVER: none)
  NOTIFY: 12, // notify(arg)
  NOTIFY_ALL: 13,
  SLEEP: 14, // sleep arg ms (the async notifier only)
  VALUE: 15, // read a semaphore's value
  ACQ_ABORT: 16, // acquire({ signal }) aborted after arg ms (async actors; ACQ_T in threads)
  WAIT_ABORT: 17, // Event/Condition wait({ signal }) aborted after arg ms (async; timed in threads)
} as const;
/** WAIT_C's argument for "no timeout". */
export const FOREVER = 99;
export const MAX_OPS = 40;
/** Result words per op. */
const RES = 4;

/** Control words. */
const GEN = 0; // run generation; -1 tells the actor threads to return
const DONE = 1; // thread actors finished with this run
const ERRS = 2; // unexpected errors in actors
const ERR_LEN = 3;
const ERR_TEXT = 16; // the first error's message, one UTF-16 unit per word
const ERR_CAP = 256;
/** Scratch words: counters each property defines (see `S`). */
export const SCRATCH = ERR_TEXT + ERR_CAP;
const SCRATCH_WORDS = 32;
const ACTORS = SCRATCH + SCRATCH_WORDS;
const ACTOR_WORDS = 1 + 2 * MAX_OPS + RES * MAX_OPS;

/** Scratch word offsets (from SCRATCH), by meaning. */
export const S = {
  INSIDE: 0, // holders inside a critical section / permits in use
  VIOLATIONS: 1, // invariant broken while running (mutual exclusion, bound, waiter count)
  COUNTER: 2, // plain (non-atomic) counter incremented under a lock
  SUCCESS: 3, // successful acquires
  EARLY_FALSE: 4, // a timed wait returned false before its timeout (or an untimed one did at all)
  RELEASED: 5, // permits released / releases that succeeded
  REFUSED: 6, // releases refused with RangeError
  PARAM: 7, // the run's parameter: a semaphore's value, which Condition, …
  SETS_STARTED: 8,
  SETS_DONE: 9,
  WOKEN_TRUE: 10,
  WOKEN_FALSE: 11,
  CLOSING: 12, // the notifier's last notifyAll has come: waits after it are skipped
  EXPECTED_TRUE: 13, // what the notifier's model says WOKEN_TRUE will be
  SAMPLED_BAD: 14, // a sampled value outside its bounds
  ABORTED: 15, // waits that rejected with their signal's reason
} as const;

export type ActorKind = 'lock' | 'sem' | 'bsem' | 'event' | 'cond';
export type Op = readonly [number, number];

function actorBase(j: number): number {
  return ACTORS + j * ACTOR_WORDS;
}

/** An Int32Array laid out for `actors` actors. */
export function controlBuffer(actors: number): Int32Array {
  return sharedInt32(ACTORS + actors * ACTOR_WORDS);
}

function recordError(ctl: Int32Array, e: unknown): void {
  if (Atomics.add(ctl, ERRS, 1) !== 0) return;
  const text = (e instanceof Error ? `${e.name}: ${e.message}` : String(e)).slice(0, ERR_CAP);
  for (let k = 0; k < text.length; k++) ctl[ERR_TEXT + k] = text.charCodeAt(k);
  Atomics.store(ctl, ERR_LEN, text.length);
}

/** The loop of an actor thread (a `task()` target): run each generation's program. */
export async function actorLoop(kind: ActorKind, prims: unknown[], ctl: Int32Array, j: number): Promise<void> {
  let gen = 0;
  for (;;) {
    Atomics.wait(ctl, GEN, gen);
    const g = Atomics.load(ctl, GEN);
    if (g < 0) return;
    if (g === gen) continue;
    gen = g;
    try {
      await runActor(kind, prims, ctl, j, true);
    } catch (e) {
      recordError(ctl, e);
    }
    Atomics.add(ctl, DONE, 1);
    Atomics.notify(ctl, DONE);
  }
}

const add = (ctl: Int32Array, s: number, n = 1): number => Atomics.add(ctl, SCRATCH + s, n);
const load = (ctl: Int32Array, s: number): number => Atomics.load(ctl, SCRATCH + s);
/** Busy for `us` microseconds (inside a critical section, this is what makes overlaps likely). */
const spin = (us: number): void => {
  const until = performance.now() + us / 1000;
  while (performance.now() < until);
};
const yieldTask = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface Acquirable {
  acquire(o?: { blocking?: boolean; timeout?: number; signal?: AbortSignal }): Promise<boolean>;
  acquireSync(o?: { blocking?: boolean; timeout?: number }): boolean;
  release(n?: number): void;
}

/** Whether `op` is one of the acquires. */
const isAcquire = (op: number): boolean => op === OP.ACQ || op === OP.ACQ_NB || op === OP.ACQ_T || op === OP.ACQ_ABORT;

/**
 * One acquire op; counts a `false` that came before its timeout, and an abort (which must reject
 * with the signal's reason: anything else is rethrown as an actor error).
 */
async function acquireOp(p: Acquirable, sync: boolean, op: number, arg: number, ctl: Int32Array): Promise<boolean> {
  if (op === OP.ACQ_ABORT && sync) op = OP.ACQ_T;
  if (op === OP.ACQ_ABORT) {
    const signal = AbortSignal.timeout(arg);
    try {
      return await p.acquire({ signal });
    } catch (e) {
      if (e !== signal.reason) throw e;
      add(ctl, S.ABORTED);
      return false;
    }
  }
  const o = op === OP.ACQ ? undefined : op === OP.ACQ_NB ? { blocking: false } : { timeout: arg };
  const started = performance.now();
  const ok = sync ? p.acquireSync(o) : await p.acquire(o);
  if (!ok && (op === OP.ACQ || (op === OP.ACQ_T && performance.now() - started < arg))) add(ctl, S.EARLY_FALSE);
  return ok;
}

/** Runs actor `j`'s program once; `sync` picks the API (sync in threads, async on main). */
export async function runActor(kind: ActorKind, prims: unknown[], ctl: Int32Array, j: number, sync: boolean) {
  const base = actorBase(j);
  const len = ctl[base] as number;
  const at = (k: number): [number, number] => [ctl[base + 1 + 2 * k] as number, ctl[base + 2 + 2 * k] as number];
  const res = base + 1 + 2 * MAX_OPS;
  switch (kind) {
    case 'lock': {
      const lock = prims[0] as Acquirable;
      let holding = false;
      for (let k = 0; k < len; k++) {
        const [op, arg] = at(k);
        if (isAcquire(op)) {
          if (holding) continue; // a Lock is not re-entrant
          if (await acquireOp(lock, sync, op, arg, ctl)) {
            holding = true;
            if (add(ctl, S.INSIDE) !== 0) add(ctl, S.VIOLATIONS);
            const v = ctl[SCRATCH + S.COUNTER] as number;
            ctl[SCRATCH + S.COUNTER] = v + 1;
            add(ctl, S.SUCCESS);
          }
        } else if (op === OP.REL && holding) {
          holding = false;
          add(ctl, S.INSIDE, -1);
          lock.release();
        } else if (op === OP.WORK) spin(arg);
        else if (op === OP.YIELD && !sync) await yieldTask();
      }
      if (holding) {
        add(ctl, S.INSIDE, -1);
        lock.release();
      }
      return;
    }
    case 'sem': {
      const sem = prims[0] as Acquirable;
      const value = load(ctl, S.PARAM);
      let held = 0;
      const giveBack = (n: number): void => {
        held -= n;
        add(ctl, S.INSIDE, -n);
        add(ctl, S.RELEASED, n);
        sem.release(n);
      };
      for (let k = 0; k < len; k++) {
        let [op, arg] = at(k);
        if (op === OP.ACQ && held > 0) [op, arg] = [OP.ACQ_T, 5]; // never block forever while holding
        if (isAcquire(op)) {
          if (await acquireOp(sem, sync, op, arg, ctl)) {
            held++;
            if (add(ctl, S.INSIDE) + 1 > value) add(ctl, S.VIOLATIONS);
            add(ctl, S.SUCCESS);
          }
        } else if (op === OP.REL && held > 0) giveBack(Math.min(Math.max(arg, 1), held));
        else if (op === OP.WORK) spin(arg);
        else if (op === OP.YIELD && !sync) await yieldTask();
      }
      if (held > 0) giveBack(held);
      return;
    }
    case 'bsem': {
      const bound = load(ctl, S.PARAM);
      const sem = prims[bound - 1] as Acquirable & { readonly value: number };
      for (let k = 0; k < len; k++) {
        const [op, arg] = at(k);
        if (isAcquire(op)) {
          if (await acquireOp(sem, sync, op, arg, ctl)) add(ctl, S.SUCCESS);
        } else if (op === OP.REL) {
          // Releases need not match acquires: any thread may release, up to the bound.
          try {
            sem.release();
            add(ctl, S.RELEASED);
          } catch (e) {
            if (!(e instanceof RangeError)) throw e;
            add(ctl, S.REFUSED);
          }
        } else if (op === OP.WORK) spin(arg);
        else if (op === OP.YIELD && !sync) await yieldTask();
        const v = sem.value;
        if (v < 0 || v > bound) add(ctl, S.SAMPLED_BAD);
      }
      return;
    }
    case 'event': {
      const event = prims[0] as {
        set(): void;
        clear(): void;
        isSet(): boolean;
        wait(o: { timeout?: number; signal?: AbortSignal }): Promise<boolean>;
        waitSync(o: { timeout: number }): boolean;
      };
      for (let k = 0; k < len; k++) {
        const [op, arg] = at(k);
        if (op === OP.SET) {
          add(ctl, S.SETS_STARTED);
          event.set();
          add(ctl, S.SETS_DONE);
        } else if (op === OP.CLEAR) event.clear();
        else if (op === OP.ISSET) event.isSet();
        else if (op === OP.WAIT_T || op === OP.WAIT_ABORT) {
          const doneBefore = load(ctl, S.SETS_DONE);
          const pre = event.isSet();
          const started = performance.now();
          let r: boolean | 'aborted';
          if (op === OP.WAIT_T || sync)
            r = sync ? event.waitSync({ timeout: arg }) : await event.wait({ timeout: arg });
          else {
            const signal = AbortSignal.timeout(arg);
            r = await event.wait({ signal }).catch((e: unknown) => {
              if (e !== signal.reason) throw e;
              return 'aborted' as const;
            });
          }
          const elapsed = performance.now() - started;
          const startedAfter = load(ctl, S.SETS_STARTED);
          if (r === false && elapsed < arg) add(ctl, S.EARLY_FALSE);
          if (r === 'aborted') add(ctl, S.ABORTED);
          ctl[res + RES * k] = r === 'aborted' ? 2 : r ? 1 : 0;
          ctl[res + RES * k + 1] = pre ? 1 : 0;
          ctl[res + RES * k + 2] = doneBefore;
          ctl[res + RES * k + 3] = startedAfter;
        } else if (op === OP.WORK) spin(arg);
        else if (op === OP.YIELD && !sync) await yieldTask();
      }
      return;
    }
    case 'cond': {
      const cond = prims[load(ctl, S.PARAM)] as Acquirable & {
        wait(o?: { timeout?: number; signal?: AbortSignal }): Promise<boolean>;
        waitSync(o?: { timeout?: number }): boolean;
      };
      // Who is inside the condition's lock: a wait that returned without it would show here.
      const enter = (): void => {
        if (add(ctl, S.INSIDE) !== 0) add(ctl, S.VIOLATIONS);
      };
      const leave = (): void => {
        add(ctl, S.INSIDE, -1);
      };
      for (let k = 0; k < len; k++) {
        const [op, arg] = at(k);
        if (op === OP.WAIT_C || op === OP.WAIT_ABORT) {
          if (sync) cond.acquireSync();
          else await cond.acquire();
          enter();
          if (load(ctl, S.CLOSING) !== 0) {
            leave();
            cond.release();
            continue;
          }
          const o = arg === FOREVER ? undefined : { timeout: arg };
          const started = performance.now();
          let r: boolean | 'aborted';
          leave(); // wait() lets go of the lock
          if (op === OP.WAIT_C || sync) r = sync ? cond.waitSync(o) : await cond.wait(o);
          else {
            const signal = AbortSignal.timeout(arg);
            r = await cond.wait({ signal }).catch((e: unknown) => {
              if (e !== signal.reason) throw e;
              return 'aborted' as const;
            });
          }
          enter(); // ...and has it again when it returns or rejects
          const elapsed = performance.now() - started;
          add(ctl, r === 'aborted' ? S.ABORTED : r ? S.WOKEN_TRUE : S.WOKEN_FALSE);
          if (r === false && (arg === FOREVER || elapsed < arg)) add(ctl, S.EARLY_FALSE);
          leave();
          cond.release();
        } else if (op === OP.SLEEP) await sleep(arg);
        else if (op === OP.YIELD && !sync) await yieldTask();
      }
      return;
    }
  }
}

/**
 * The main thread's side of a property: a set of actor threads (sync API) for one primitive,
 * plus actors run on the main thread (async API) in each round.
 */
export class Actors {
  readonly ctl: Int32Array;
  readonly threads: Thread[];
  #gen = 0;
  #broken: string | undefined;

  constructor(
    readonly kind: ActorKind,
    readonly prims: unknown[],
    readonly threadCount: number,
    readonly mainCount: number,
  ) {
    this.ctl = controlBuffer(threadCount + mainCount);
    const target = task(import.meta.url, 'actorLoop');
    this.threads = Array.from({ length: threadCount }, (_, j) => {
      const t = new Thread({ target, args: [kind, prims, this.ctl, j], name: `Actor-${kind}-${j}` });
      t.start();
      return t;
    });
  }

  scratch(s: number): number {
    return Atomics.load(this.ctl, SCRATCH + s);
  }

  setScratch(s: number, v: number): void {
    Atomics.store(this.ctl, SCRATCH + s, v);
  }

  /** Result word `w` of op `k` of actor `j`. */
  result(j: number, k: number, w: number): number {
    return this.ctl[actorBase(j) + 1 + 2 * MAX_OPS + RES * k + w] as number;
  }

  /**
   * One round: thread actors `0…threadCount-1` and main actors after them run `programs[j]`,
   * with scratch words set from `params` (all others start at 0); `extra` runs alongside on the
   * main thread (e.g. a notifier), then `closing`.
   * Rejects if an actor threw, or after `deadline` ms (the actors are unusable after that).
   */
  async round(
    programs: readonly (readonly Op[])[],
    {
      params = {},
      deadline = 20_000,
      extra,
      closing,
    }: {
      params?: Partial<Record<number, number>>;
      deadline?: number;
      extra?: () => Promise<void>;
      closing?: () => Promise<void>;
    } = {},
  ): Promise<void> {
    if (this.#broken !== undefined) throw new Error(`actors unusable after an earlier failure: ${this.#broken}`);
    const ctl = this.ctl;
    ctl.fill(0, ERRS, ACTORS);
    for (const [s, v] of Object.entries(params)) ctl[SCRATCH + Number(s)] = v as number;
    for (let j = 0; j < programs.length; j++) {
      const ops = programs[j] as readonly Op[];
      const base = actorBase(j);
      ctl.fill(0, base, base + ACTOR_WORDS);
      ctl[base] = Math.min(ops.length, MAX_OPS);
      ops.slice(0, MAX_OPS).forEach(([op, arg], k) => {
        ctl[base + 1 + 2 * k] = op;
        ctl[base + 2 + 2 * k] = arg;
      });
    }
    Atomics.store(ctl, DONE, 0);
    Atomics.store(ctl, GEN, ++this.#gen);
    Atomics.notify(ctl, GEN);
    const mains = Array.from({ length: this.mainCount }, (_, m) =>
      runActor(this.kind, this.prims, ctl, this.threadCount + m, false).catch((e: unknown) => recordError(ctl, e)),
    );
    const threadsDone = async (): Promise<void> => {
      for (let v = Atomics.load(ctl, DONE); v < this.threadCount; v = Atomics.load(ctl, DONE)) {
        await Atomics.waitAsync(ctl, DONE, v, 100).value;
      }
    };
    const all = (async () => {
      await Promise.all([
        ...mains,
        (async () => {
          await extra?.();
          await closing?.();
        })(),
      ]);
      await threadsDone();
    })();
    try {
      await withDeadline(all, deadline, { actors: this.threads, prims: this.prims });
    } catch (e) {
      this.#broken = String(e);
      throw e;
    }
    if (Atomics.load(ctl, ERRS) > 0) {
      const n = Atomics.load(ctl, ERR_LEN);
      throw new Error(`an actor failed: ${String.fromCharCode(...ctl.subarray(ERR_TEXT, ERR_TEXT + n))}`);
    }
  }

  /** Ends the actor threads. */
  async stop(): Promise<void> {
    Atomics.store(this.ctl, GEN, -1);
    Atomics.notify(this.ctl, GEN);
    await withDeadline(Promise.all(this.threads.map((t) => t.join())), 10_000, this.threads, async () => {
      await Promise.all(this.threads.map((t) => t.terminate()));
    });
  }
}
