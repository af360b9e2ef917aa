/**
 * The process-wide runtime: one shared arena that every threadkit thread maps at start, and the
 * per-thread facts (who am I) that every other module reads.
 *
 * The arena is a single `SharedArrayBuffer` created by the main thread and handed to each thread
 * in its `workerData`. It is fixed-size and zero-filled by the OS on first touch, so its untouched
 * parts cost address space, not memory. Its layout, in Int32 words:
 *
 * | words                      | what                                                                    |
 * |----------------------------|-------------------------------------------------------------------------|
 * | `0 … HEADER_WORDS-1`       | header counters (below)                                                 |
 * | `STATUS_BASE …`            | thread status table: 4 words per ident: `[ident, status, reply, spare]` |
 * | `LIVE_BASE …`              | live-thread table: one row per running thread (ident, daemon, name)     |
 * | `NODE_BASE …`              | park nodes: the per-waiter words of `Condition` (see `nodes.ts`)         |
 * | `WAIT_BASE …`              | wait records: what each live thread waits for (see `records.ts`)         |
 *
 * Header words, all updated with Atomics:
 * - `H_NEXT_IDENT`: the next thread ident to hand out (main is 1). Written by `Thread.start()`.
 * - `H_NAME_SEQ`: the `N` of default names `Thread-N`, counting across the process.
 * - `H_POOL_SEQ`: the same for the pools' `ThreadPoolExecutor-N`.
 * - `H_NODE_LOCK`, `H_NODE_LOCK_WAITERS`, `H_NODE_FREE`, `H_NODE_BUMP`, `H_NODE_SWEPT`,
 *   `H_NODE_JLEN` and the journal from `H_NODE_JOURNAL` to the end of the header: the park-node
 *   allocator (`nodes.ts`).
 * - `H_THREAD_ENDS`: bumped whenever a thread ends or its Worker exits (`endThread`), so that
 *   the allocator knows when to sweep the park nodes of dead threads.
 * - `H_SAB_SEQ`: ids of shared buffers registered with the supervisor (`wire/sabs.ts`).
 * - `H_LIVE_HINT`: where the next search for a free live row starts.
 * - `H_LIVE_GEN`: bumped (and notified) whenever a thread starts or stops running. The main thread
 *   sleeps on it to decide whether a non-daemon thread still runs (`thread/keepalive.ts`).
 * - `H_LIVE_HIGH`: one past the highest live row ever claimed, so scans stop there.
 *
 * Status row of a thread (`STATUS_BASE + STATUS_ROW * (ident % STATUS_CAP)`): `ident`; the status
 * word; `reply`, the word the thread sleeps on while the supervisor answers it (`wire/sabs.ts`);
 * `parent`, the ident of the thread that started it.
 * Status word:
 * bits 0-3 the state (`State`), bit 4 `EXITED` (its Worker is gone), bits 8+ its live row + 1.
 * The creator writes `Running` at `start()`; the thread writes `DoneOk`/`DoneError` when its
 * target finishes; the supervisor writes `Died` (if still running) and `EXITED` when the thread's
 * supervisor port closes, which it sees even while every other thread is blocked. Every change is
 * followed by `Atomics.notify` on the status word: `join` waits on it.
 *
 * A thread is alive exactly when its status word says `Running` and names the live row that holds
 * its ident: nothing else (no counter) records it, so no interleaving of a `start()` and a death
 * can leave a stale count behind. A creator killed in the middle of `start()` can leave a claimed
 * row behind; the supervisor sweeps those when it sees the creator die (`sweepOrphans`).
 */
import type { MessagePort } from 'node:worker_threads';
import { isMainThread, workerData } from 'node:worker_threads';

export const HEADER_WORDS = 128;
export const H_MAGIC = 0;
export const H_NEXT_IDENT = 1;
export const H_NAME_SEQ = 2;
export const H_NODE_LOCK = 3;
export const H_NODE_FREE = 4;
export const H_NODE_BUMP = 5;
export const H_SAB_SEQ = 6;
export const H_LIVE_HINT = 7;
export const H_LIVE_GEN = 8;
export const H_NODE_LOCK_WAITERS = 9;
export const H_LIVE_HIGH = 10;
export const H_THREAD_ENDS = 11;
export const H_NODE_SWEPT = 12;
export const H_NODE_JLEN = 13;
/** The last diagnostic id given to a primitive (`sync/primitive.ts`: `Lock#12`). */
export const H_DIAG_SEQ = 14;
/** Set by the deadlock watchdog in `abort` mode: the exit code the main thread must exit with. */
export const H_EXIT_CODE = 15;
/** The last number given to a pool's default name, `ThreadPoolExecutor-N`, across the process. */
export const H_POOL_SEQ = 16;
/** The park-node allocator's journal: `H_NODE_JOURNAL_MAX` pairs `[word index, value]` (`nodes.ts`). */
export const H_NODE_JOURNAL = 64;
export const H_NODE_JOURNAL_MAX = (HEADER_WORDS - H_NODE_JOURNAL) / 2;

export const STATUS_BASE = HEADER_WORDS;
export const STATUS_CAP = 1 << 19;
export const STATUS_ROW = 4;
export const LIVE_BASE = STATUS_BASE + STATUS_ROW * STATUS_CAP;
export const LIVE_CAP = 4096;
/**
 * Live row: [ident (0 = free), daemon, nameLength, parentIdent, lastIdent (kept after the row is
 * freed, so the name of a dead thread stays readable), reply word (`wire/sabs.ts`), 2 spare,
 * name as UTF-16 pairs packed in words].
 */
export const LIVE_WORDS = 136;
export const NAME_CAP = (LIVE_WORDS - 8) * 2;
export const NODE_BASE = LIVE_BASE + LIVE_CAP * LIVE_WORDS;
export const NODE_CAP = 1 << 20;
export const NODE_WORDS = 8;
/** Wait records, one area per live row (`records.ts`): a counter, the slots, their stacks. */
export const WAIT_BASE = NODE_BASE + NODE_CAP * NODE_WORDS;
export const WAIT_SLOTS = 17;
export const WAIT_REC_WORDS = 18;
export const WAIT_STACK_UNITS = 512;
export const WAIT_ROW_WORDS = 2 + WAIT_SLOTS * WAIT_REC_WORDS + (WAIT_SLOTS * WAIT_STACK_UNITS) / 2;
export const ARENA_WORDS = WAIT_BASE + LIVE_CAP * WAIT_ROW_WORDS;

const MAGIC = 0x7448_6b31; // "tHk1"

/** Thread states, in the low bits of a status word. */
export const State = {
  Empty: 0,
  Running: 1,
  DoneOk: 2,
  DoneError: 3,
  Died: 4,
} as const;
export const STATE_MASK = 0xf;
export const EXITED = 0x10;

export const MAIN_IDENT = 1;

/** The handler of uncaught thread errors, see `thread/excepthook.ts`. */
export type ExceptHook = (args: { error: unknown; thread: unknown }) => void;

/** What this thread knows about itself and the process, shared by every copy of the package. */
export interface Runtime {
  readonly version: 1;
  readonly arena: SharedArrayBuffer;
  readonly i32: Int32Array;
  readonly ident: number;
  readonly isMain: boolean;
  /** The daemon flag of this thread (main: false); new threads inherit it. */
  daemon: boolean;
  name: string;
  /** This thread's port to the supervisor; its closing tells the supervisor this thread died. */
  supervisorPort: MessagePort | undefined;
  excepthook: ExceptHook | undefined;
  /** Counter for primitive uids created in this thread. */
  uidSeq: number;
  /** Cross-build singletons of other modules, by name. */
  readonly slots: Map<string, unknown>;
}

/** What a new thread receives to join the process's runtime. */
export interface RuntimeSeed {
  arena: SharedArrayBuffer;
  ident: number;
  daemon: boolean;
  name: string;
  supervisorPort: MessagePort | undefined;
}

const KEY = Symbol.for('threadkit.runtime.v1');
type Holder = { [KEY]?: Runtime };

function create(seed: RuntimeSeed, isMain: boolean): Runtime {
  const i32 = new Int32Array(seed.arena);
  return {
    version: 1,
    arena: seed.arena,
    i32,
    ident: seed.ident,
    isMain,
    daemon: seed.daemon,
    name: seed.name,
    supervisorPort: seed.supervisorPort,
    excepthook: undefined,
    uidSeq: 0,
    slots: new Map(),
  };
}

function newArena(): SharedArrayBuffer {
  const arena = new SharedArrayBuffer(ARENA_WORDS * 4);
  const i32 = new Int32Array(arena);
  i32[H_MAGIC] = MAGIC;
  i32[H_NEXT_IDENT] = MAIN_IDENT + 1;
  i32[H_NAME_SEQ] = 0;
  i32[H_NODE_BUMP] = 1; // node 0 is the null link
  return arena;
}

/** Installs the runtime of a thread started by threadkit; called first by the thread bootstrap. */
export function installRuntime(seed: RuntimeSeed): Runtime {
  const g = globalThis as Holder;
  if (g[KEY]) return g[KEY];
  const rt = create(seed, false);
  g[KEY] = rt;
  return rt;
}

/** The runtime of this thread, created on first use in the main thread (or a foreign Worker). */
export function runtime(): Runtime {
  const g = globalThis as Holder;
  let rt = g[KEY];
  if (rt === undefined) {
    const seed = (workerData as { __threadkit?: { seed?: RuntimeSeed } } | null)?.__threadkit?.seed;
    if (!isMainThread && seed !== undefined) return installRuntime(seed);
    // The main thread, or a Worker not started by threadkit: such a Worker gets a registry of its
    // own, since nothing handed it the process's arena.
    const arena = newArena();
    rt = create(
      { arena, ident: MAIN_IDENT, daemon: false, name: 'MainThread', supervisorPort: undefined },
      isMainThread,
    );
    const i32 = rt.i32;
    const row = claimLiveRow(i32, MAIN_IDENT);
    i32[LIVE_BASE + row * LIVE_WORDS + 4] = MAIN_IDENT;
    i32[STATUS_BASE + STATUS_ROW * MAIN_IDENT] = MAIN_IDENT;
    i32[STATUS_BASE + STATUS_ROW * MAIN_IDENT + 1] = State.Running | ((row + 1) << 8);
    i32[STATUS_BASE + STATUS_ROW * MAIN_IDENT + 3] = 0;
    writeName(i32, row, 'MainThread');
    g[KEY] = rt;
  }
  return rt;
}

// ---- status table -------------------------------------------------------------------------

/** Index of the status word of `ident`. */
export function statusIndex(ident: number): number {
  return STATUS_BASE + STATUS_ROW * (ident % STATUS_CAP) + 1;
}

/** Index of the reply word of `ident` (see `wire/sabs.ts`). */
export function replyIndex(ident: number): number {
  return STATUS_BASE + STATUS_ROW * (ident % STATUS_CAP) + 2;
}

/** The status word of `ident`, or 0 if its row now belongs to another thread (it ended long ago). */
export function statusOf(i32: Int32Array, ident: number): number {
  const base = STATUS_BASE + STATUS_ROW * (ident % STATUS_CAP);
  const s = Atomics.load(i32, base + 1);
  return Atomics.load(i32, base) === ident ? s : State.DoneOk | EXITED;
}

/** Whether the thread's target is still running. */
export function isRunning(i32: Int32Array, ident: number): boolean {
  return (statusOf(i32, ident) & STATE_MASK) === State.Running;
}

/** Index of the parent word of `ident`: the thread that started it. */
function parentIndex(ident: number): number {
  return STATUS_BASE + STATUS_ROW * (ident % STATUS_CAP) + 3;
}

/** Tells the main thread's keepalive watcher that the set of running threads changed. */
function bumpLive(i32: Int32Array): void {
  Atomics.add(i32, H_LIVE_GEN, 1);
  Atomics.notify(i32, H_LIVE_GEN);
}

/**
 * Hands out a new ident with its status row set to Running and a live row claimed.
 * Called by the creating thread in `Thread.start()`.
 *
 * The order matters if the creator is killed part-way (terminate() can land between any two
 * statements): the status row (ident, parent) is written before the live row is claimed, so a
 * claimed row always names its creator and `sweepOrphans` can free it; and the status word
 * becomes `Running` last, so a half-written row is never seen alive.
 */
export function allocateIdent(i32: Int32Array, name: string, daemon: boolean, parent: number): number {
  for (;;) {
    // Idents never repeat (they name lock owners and primitives' uids); rows are reused, but only
    // once their previous thread's Worker has exited.
    const ident = Atomics.add(i32, H_NEXT_IDENT, 1);
    // Below 2**30: internal mutexes store `ident << 1` in an Int32 word (shared/mutex.ts).
    if (ident >= 0x3fff_ffff) throw new RangeError('threadkit: the process has run out of thread idents');
    const base = STATUS_BASE + STATUS_ROW * (ident % STATUS_CAP);
    if (ident % STATUS_CAP < MAIN_IDENT + 1) continue;
    const old = Atomics.load(i32, base);
    if (old !== 0 && (Atomics.load(i32, base + 1) & EXITED) === 0) continue;
    // The ident first: from here on the previous owner of this status row reads as long gone.
    Atomics.store(i32, base, ident);
    Atomics.store(i32, base + 1, State.Empty);
    Atomics.store(i32, base + 3, parent);
    const row = claimLiveRow(i32, ident);
    clearWaitRow(i32, row);
    const at = LIVE_BASE + row * LIVE_WORDS;
    Atomics.store(i32, at + 1, daemon ? 1 : 0);
    Atomics.store(i32, at + 3, parent);
    Atomics.store(i32, at + 4, ident);
    writeName(i32, row, name);
    Atomics.store(i32, base + 1, State.Running | ((row + 1) << 8));
    bumpLive(i32);
    return ident;
  }
}

/**
 * Moves a thread from Running to `state` (DoneOk, DoneError or Died) and frees its live row.
 * Returns false if it had already left Running. `exited` also sets the EXITED bit.
 */
export function endThread(i32: Int32Array, ident: number, state: number, exited: boolean): boolean {
  const base = STATUS_BASE + STATUS_ROW * (ident % STATUS_CAP);
  if (Atomics.load(i32, base) !== ident) return false;
  const at = base + 1;
  for (;;) {
    const s = Atomics.load(i32, at);
    const running = (s & STATE_MASK) === State.Running;
    if (!running && (!exited || s & EXITED)) return false;
    // The live-row bits stay: they let `nameOfIdent` find the name of a thread that has ended.
    const next = running ? (s & ~STATE_MASK) | state | (exited ? EXITED : 0) : s | EXITED;
    if (Atomics.compareExchange(i32, at, s, next) !== s) continue;
    Atomics.add(i32, H_THREAD_ENDS, 1);
    if (running) {
      const row = (s >>> 8) - 1;
      if (row >= 0) Atomics.compareExchange(i32, LIVE_BASE + row * LIVE_WORDS, ident, 0);
      bumpLive(i32);
    }
    Atomics.notify(i32, at);
    return running;
  }
}

/**
 * After thread `dead` died: frees what a `start()` it did not finish left behind. A row it claimed
 * but never published is freed; a thread it published but never handed to anyone to run (the
 * launch request never left, see `isLaunched`) is marked Died. Called by the supervisor, which
 * launches every thread that a thread other than the main one starts.
 */
export function sweepOrphans(i32: Int32Array, dead: number, isLaunched: (ident: number) => boolean): number {
  let swept = 0;
  const high = Atomics.load(i32, H_LIVE_HIGH);
  for (let row = 0; row < high; row++) {
    const at = LIVE_BASE + row * LIVE_WORDS;
    const ident = Atomics.load(i32, at);
    if (ident <= 0 || Atomics.load(i32, parentIndex(ident)) !== dead) continue;
    const base = STATUS_BASE + STATUS_ROW * (ident % STATUS_CAP);
    if (Atomics.load(i32, base) !== ident) continue;
    const s = Atomics.load(i32, base + 1);
    const state = s & STATE_MASK;
    if (state === State.Empty) {
      // Claimed, never published: nobody else knows this row.
      if (Atomics.compareExchange(i32, at, ident, 0) === ident) swept++;
    } else if (state === State.Running && (s >>> 8) - 1 === row && !isLaunched(ident)) {
      if (endThread(i32, ident, State.Died, true)) swept++;
    }
  }
  return swept;
}

/** The ident of the thread that started `ident` (0 for the main thread or if unknown). */
export function parentOf(i32: Int32Array, ident: number): number {
  const base = STATUS_BASE + STATUS_ROW * (ident % STATUS_CAP);
  return Atomics.load(i32, base) === ident ? Atomics.load(i32, base + 3) : 0;
}

/** Whether a non-daemon thread other than the main one is running, anywhere in the process. */
export function anyNonDaemonRunning(i32: Int32Array): boolean {
  let found = false;
  forEachLive(i32, (ident, daemon) => {
    if (!daemon && ident !== MAIN_IDENT) found = true;
  });
  return found;
}

/** Clears the wait records a live row's previous thread may have left (`records.ts`). */
function clearWaitRow(i32: Int32Array, row: number): void {
  const at = WAIT_BASE + row * WAIT_ROW_WORDS;
  Atomics.store(i32, at, 0);
  for (let k = 0; k < WAIT_SLOTS; k++) Atomics.store(i32, at + 2 + k * WAIT_REC_WORDS, 0);
}

// ---- live table ---------------------------------------------------------------------------

function claimLiveRow(i32: Int32Array, ident: number): number {
  const start = Atomics.load(i32, H_LIVE_HINT);
  for (let k = 0; k < LIVE_CAP; k++) {
    const row = (start + k) % LIVE_CAP;
    if (Atomics.compareExchange(i32, LIVE_BASE + row * LIVE_WORDS, 0, ident) === 0) {
      Atomics.store(i32, H_LIVE_HINT, (row + 1) % LIVE_CAP);
      for (let high = Atomics.load(i32, H_LIVE_HIGH); high <= row; ) {
        const seen = Atomics.compareExchange(i32, H_LIVE_HIGH, high, row + 1);
        if (seen === high) break;
        high = seen;
      }
      return row;
    }
  }
  throw new RangeError(`threadkit: more than ${LIVE_CAP} threads are alive at once; join some before starting more`);
}

/** The live row of a running thread, or -1. */
export function liveRowOf(i32: Int32Array, ident: number): number {
  const s = statusOf(i32, ident);
  if ((s & STATE_MASK) !== State.Running) return -1;
  return (s >>> 8) - 1;
}

/** Stores a thread's name in its live row (cut to NAME_CAP UTF-16 units: the cross-thread view). */
export function writeName(i32: Int32Array, row: number, name: string): void {
  const at = LIVE_BASE + row * LIVE_WORDS;
  const len = Math.min(name.length, NAME_CAP);
  for (let k = 0; k < len; k += 2) {
    const lo = name.charCodeAt(k);
    const hi = k + 1 < len ? name.charCodeAt(k + 1) : 0;
    i32[at + 8 + (k >> 1)] = lo | (hi << 16);
  }
  Atomics.store(i32, at + 2, len);
}

/** Reads the name in a live row. */
export function readName(i32: Int32Array, row: number): string {
  const at = LIVE_BASE + row * LIVE_WORDS;
  const len = Atomics.load(i32, at + 2);
  const units: number[] = [];
  for (let k = 0; k < len; k += 2) {
    const w = i32[at + 8 + (k >> 1)] as number;
    units.push(w & 0xffff);
    if (k + 1 < len) units.push(w >>> 16);
  }
  return String.fromCharCode(...units);
}

/**
 * Visits every live thread: (ident, daemon, row). A row counts only while its thread's status
 * word says Running and points back at it (a row being claimed or freed right now does not).
 */
export function forEachLive(i32: Int32Array, visit: (ident: number, daemon: boolean, row: number) => void): void {
  const high = Atomics.load(i32, H_LIVE_HIGH);
  for (let row = 0; row < high; row++) {
    const at = LIVE_BASE + row * LIVE_WORDS;
    const ident = Atomics.load(i32, at);
    if (ident !== 0 && liveRowOf(i32, ident) === row) visit(ident, Atomics.load(i32, at + 1) === 1, row);
  }
}
