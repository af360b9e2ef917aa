/**
 * The process-wide thread registry, read from the arena's live table, so that every thread sees
 * every live thread: `currentThread`, `mainThread`, `enumerate`, `activeCount`, `getIdent`.
 */
import { inspect } from 'node:util';
import { ThreadError, argTypeError } from '../errors.js';
import { deadlineOf } from '../shared/clock.js';
import {
  forEachLive,
  isRunning,
  liveRowOf,
  MAIN_IDENT,
  NAME_CAP,
  readName,
  runtime,
  statusIndex,
  statusOf,
  writeName,
  STATE_MASK,
  State,
} from '../shared/runtime.js';
import { describe, optionsOf, signalOf, timeoutOf } from '../shared/validate.js';
import { K_THREAD, O_JOIN, type WaitSource } from '../shared/records.js';
import { runAsync, runSync, type Steps } from '../shared/wait.js';
import { UNSHAREABLE } from '../wire/kinds.js';

const rt = runtime();
const i32 = rt.i32;

/** What `enumerate()` and `currentThread()` return for threads this thread did not create. */
export interface ThreadLike {
  readonly name: string;
  readonly ident: number | undefined;
  readonly daemon: boolean;
  isAlive(): boolean;
}

/** The Thread objects this thread started, by ident, so `enumerate()` can return them. */
export function localThreads(): Map<number, WeakRef<ThreadLike>> {
  let m = rt.slots.get('threads') as Map<number, WeakRef<ThreadLike>> | undefined;
  if (m === undefined) {
    m = new Map();
    rt.slots.set('threads', m);
  }
  return m;
}

/** A joined thread, as the wait records see it: its ident is its id, and it is what is awaited. */
function joined(ident: number): WaitSource {
  return { _diagId: () => ident, _diagOwner: () => ident };
}

/** Waits until the thread's target has finished (its status leaves Running). */
export function* joinSteps(ident: number): Steps<void> {
  const index = statusIndex(ident);
  for (;;) {
    const s = Atomics.load(i32, index);
    if ((statusOf(i32, ident) & STATE_MASK) !== State.Running) return;
    if ((yield { i32, index, value: s, rec: { kind: K_THREAD, op: O_JOIN, src: joined(ident) } }) === 'timeout') return;
  }
}

/** `join` for any ident: resolves when the thread has finished or the timeout (ms) passed. */
export async function joinIdent(
  ident: number,
  options: { timeout?: number; signal?: AbortSignal } | undefined,
  where: string,
): Promise<void> {
  const o = optionsOf(options, where);
  const timeout = timeoutOf(o.timeout);
  const signal = signalOf(o.signal);
  if (ident === rt.ident) throw new ThreadError('cannot join current thread');
  if (signal?.aborted) throw signal.reason;
  if (!isRunning(i32, ident)) return;
  await runAsync(joinSteps(ident), deadlineOf(timeout), signal);
}

/** Blocking twin of `joinIdent`. */
export function joinIdentSync(ident: number, options: { timeout?: number } | undefined, where: string): void {
  const timeout = timeoutOf(optionsOf(options, where).timeout);
  if (ident === rt.ident) throw new ThreadError('cannot join current thread');
  if (!isRunning(i32, ident)) return;
  runSync(joinSteps(ident), deadlineOf(timeout));
}

/**
 * A thread seen from another thread: `name`, `ident`, `daemon`, `isAlive()`, and `join()` /
 * `joinSync()`. Returned by `currentThread()`, `mainThread()` and `enumerate()`.
 */
export class ThreadHandle implements ThreadLike {
  readonly ident: number;
  readonly daemon: boolean;
  #name: string;

  /** @internal */
  constructor(ident: number, daemon: boolean, name: string) {
    this.ident = ident;
    this.daemon = daemon;
    this.#name = name;
  }

  /** The thread's name (renaming it is seen by every thread). */
  get name(): string {
    const row = liveRowOf(i32, this.ident);
    if (row >= 0) {
      const shared = readName(i32, row);
      // The shared copy is cut at NAME_CAP; this thread keeps its own name whole.
      const own = this.ident === rt.ident && shared.length === NAME_CAP && rt.name.startsWith(shared);
      this.#name = own ? rt.name : shared;
      if (this.ident === rt.ident) rt.name = this.#name;
    }
    return this.#name;
  }

  set name(value: string) {
    if (typeof value !== 'string') throw argTypeError(`Expected \`name\` to be a string, got ${describe(value)}`);
    this.#name = value;
    if (this.ident === rt.ident) rt.name = value;
    const row = liveRowOf(i32, this.ident);
    if (row >= 0) writeName(i32, row, value);
  }

  isAlive(): boolean {
    return isRunning(i32, this.ident);
  }

  join(options?: { timeout?: number; signal?: AbortSignal }): Promise<void> {
    return joinIdent(this.ident, options, 'join');
  }

  joinSync(options?: { timeout?: number }): void {
    joinIdentSync(this.ident, options, 'joinSync');
  }

  [inspect.custom](): string {
    return `<Thread ${this.name} ident=${this.ident}${this.daemon ? ' daemon' : ''} ${this.isAlive() ? 'alive' : 'stopped'}>`;
  }
}
Object.defineProperty(ThreadHandle.prototype, UNSHAREABLE, { value: 'a thread handle' });

let main: ThreadHandle | undefined;
let self: ThreadHandle | undefined;

/** The main thread; its name is `'MainThread'`. */
export function mainThread(): ThreadHandle {
  if (rt.ident === MAIN_IDENT && rt.isMain) return currentThread();
  main ??= new ThreadHandle(MAIN_IDENT, false, 'MainThread');
  return main;
}

/** The thread this code runs in. */
export function currentThread(): ThreadHandle {
  self ??= new ThreadHandle(rt.ident, rt.daemon, rt.name);
  return self;
}

/** This thread's ident. */
export function getIdent(): number {
  return rt.ident;
}

/** Every live thread of the process (started and not finished), the main thread included. */
export function enumerate(): ThreadLike[] {
  const mine = localThreads();
  const out: ThreadLike[] = [];
  forEachLive(i32, (ident, daemon, row) => {
    if (ident === rt.ident) out.push(currentThread());
    else if (ident === MAIN_IDENT) out.push(mainThread());
    else out.push(mine.get(ident)?.deref() ?? new ThreadHandle(ident, daemon, readName(i32, row)));
  });
  return out;
}

/** How many threads are alive in the process, the main thread included. */
export function activeCount(): number {
  let n = 0;
  forEachLive(i32, () => {
    n++;
  });
  return n;
}
