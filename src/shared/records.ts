/**
 * Wait records: what each thread is waiting for, in the arena, so that any thread (and the
 * supervisor, while every other thread is blocked) can tell (`diagnostics/`).
 *
 * A wait is recorded only once it has stayed parked `RECORD_AFTER_MS` (`wait.ts` parks its first
 * slice unrecorded): short waits and uncontended paths cost nothing. The record is cleared when
 * the wait ends, however it ends; a thread's records are cleared when its live row is reused.
 *
 * Each live row (`runtime.ts`) has a record area of `ROW_WORDS` at `WAIT_BASE + row * ROW_WORDS`:
 * - `MORE`: Promise-form waits beyond the slots, counted only.
 * - `SLOTS` records of `REC_WORDS`: slot 0 is the thread's `…Sync` wait (a blocked thread has at
 *   most one), slots 1… its Promise-form waits. Words of a record:
 *   `STATE` (0 free, 1 being written, `SYNC` or `PROMISE`), `SEQ` (odd during every write, even
 *   after it: readers retry a record that is odd or changed under them), `KIND`, `ID` (the
 *   primitive's diagnostic id, or a thread's ident), `OP`, `FLAGS` (`TIMED`, `SIGNAL`), `OWNER` (a lock's holder or a
 *   joined thread, refreshed each time the waiter wakes, at `REFRESHED`), `DETAIL`, `STACK_LEN`,
 *   `WAKES` (notifies received), `GEN` (the arena's live-thread generation at `REFRESHED`: a
 *   thread started or ended since the waiter last looked, it may have woken it), `SINCE`,
 *   `TIMEOUT` and `REFRESHED` (float64 ms, the clock all
 *   threads share).
 * - the stacks of the slots, `STACK_UNITS` UTF-16 units each.
 * Only the thread itself writes its rows.
 */
import {
  H_LIVE_GEN,
  LIVE_CAP,
  liveRowOf,
  runtime,
  WAIT_BASE,
  WAIT_REC_WORDS,
  WAIT_ROW_WORDS,
  WAIT_SLOTS,
  WAIT_STACK_UNITS,
} from './runtime.js';

export const SLOTS = WAIT_SLOTS;
export const REC_WORDS = WAIT_REC_WORDS;
export const STACK_UNITS = WAIT_STACK_UNITS;
const MORE = 0;
const RECS = 2;
const STACKS = RECS + SLOTS * REC_WORDS;
const ROW_WORDS = WAIT_ROW_WORDS;
const WAIT_WORDS = LIVE_CAP * ROW_WORDS;

export const STATE = 0;
export const SEQ = 1;
export const KIND = 2;
export const ID = 3;
export const OP = 4;
export const FLAGS = 5;
export const OWNER = 6;
export const DETAIL = 7;
export const STACK_LEN = 8;
/** Times the waiter was woken by a notify (not by a poll slice): a deadlocked waiter never is. */
export const WAKES = 9;
/** The arena's `H_LIVE_GEN` when `OWNER` was last read (at `REFRESHED`). Word 16; 17 is spare. */
export const GEN = 16;
/** Float64s: words 10-11, 12-13, 14-15 (records start on even words). */
export const SINCE = 10;
export const TIMEOUT = 12;
/** When `OWNER` was last read (float64 ms, shared clock). */
export const REFRESHED = 14;

export const WRITING = 1;
export const SYNC = 2;
export const PROMISE = 3;

export const TIMED = 1;
export const SIGNAL = 2;

/** How long a wait stays parked before it is recorded. */
export const RECORD_AFTER_MS = 5;

/**
 * How often a recorded endless `…Sync` wait wakes to refresh its record (its owner, `REFRESHED`,
 * `GEN`) when nothing else wakes it: a wait that has looked around after every other thread
 * parked is what tells a thread asleep for ever from one notified a moment ago but not yet
 * running (`diagnostics/`, all asleep). Lock, semaphore and queue waits wake every 50 ms anyway.
 */
export const REFRESH_MS = 100;

/** Kinds of waits, by code. */
export const KINDS = [
  '',
  'Lock',
  'RLock',
  'Condition',
  'Semaphore',
  'BoundedSemaphore',
  'Event',
  'Barrier',
  'Queue',
  'LifoQueue',
  'PriorityQueue',
  'SimpleQueue',
  'Thread',
] as const;
export const K_LOCK = 1;
export const K_RLOCK = 2;
export const K_CONDITION = 3;
export const K_SEMAPHORE = 4;
export const K_BOUNDED = 5;
export const K_EVENT = 6;
export const K_BARRIER = 7;
export const K_QUEUE = 8;
export const K_THREAD = 12;

/** Operations, by code. `reacquire`: a `Condition` taking its lock back after a wait. */
export const OPS = ['', 'acquire', 'wait', 'get', 'put', 'join', 'reacquire'] as const;
export const O_ACQUIRE = 1;
export const O_WAIT = 2;
export const O_GET = 3;
export const O_PUT = 4;
export const O_JOIN = 5;
export const O_REACQUIRE = 6;

/** What a park tells the records about its wait (`wait.ts`'s `Park.rec`). */
export interface WaitDesc {
  kind: number;
  op: number;
  src: WaitSource;
}

/** The waited-on object's side of a record. */
export interface WaitSource {
  /** The primitive's diagnostic id (`sync/primitive.ts`), or a thread's ident. */
  _diagId(): number;
  /** The ident of the thread that holds it (locks) or is awaited (join); 0 for none. */
  _diagOwner?(): number;
  /** Kind-specific detail: a queue's size, a Condition's id for a re-acquire. */
  _diagDetail?(op: number): number;
}

// Taken on first use, not at import: the supervisor imports this module before it installs the
// process's runtime.
let i32: Int32Array;
let f64: Float64Array;

function views(): void {
  const rt = runtime();
  i32 = rt.i32;
  f64 = new Float64Array(rt.arena, 0, WAIT_BASE / 2 + WAIT_WORDS / 2);
}

/** This thread's record area (word index), or -1 (a thread without a live row). */
let base = -2;
function myBase(): number {
  if (base === -2) {
    if (i32 === undefined) views();
    const row = liveRowOf(i32, runtime().ident);
    base = row < 0 ? -1 : WAIT_BASE + row * ROW_WORDS;
  }
  return base;
}

/**
 * Records a wait of this thread; returns its slot (-1 if this thread has no row, `SLOTS` if it
 * was only counted). `stack` is written as given (cut to `STACK_UNITS`).
 */
export function openRecord(
  sync: boolean,
  desc: WaitDesc,
  flags: number,
  since: number,
  timeout: number,
  stack: string,
): number {
  const b = myBase();
  if (b < 0) return -1;
  let slot = 0;
  if (!sync) {
    // A slot is free when its STATE is 0: the row itself is the thread's map of its slots. Not a
    // mask in this module: the ESM and CommonJS builds loaded in one thread are two copies of it
    // that share the row, and each would hand out slot 1. Only this thread writes its row's
    // STATE words, so a plain read sees its own last write.
    for (slot = 1; slot < SLOTS && i32[b + RECS + slot * REC_WORDS + STATE] !== 0; slot++);
    if (slot === SLOTS) {
      Atomics.add(i32, b + MORE, 1);
      return SLOTS;
    }
  }
  const at = b + RECS + slot * REC_WORDS;
  Atomics.store(i32, at + STATE, WRITING);
  const seq = beginWrite(at);
  i32[at + FLAGS] = flags;
  i32[at + WAKES] = 0;
  f64[(at + SINCE) >> 1] = since;
  f64[(at + TIMEOUT) >> 1] = timeout;
  const n = Math.min(stack.length, STACK_UNITS);
  const s = b + STACKS + (slot * STACK_UNITS) / 2;
  for (let k = 0; k < n; k += 2)
    i32[s + (k >> 1)] = stack.charCodeAt(k) | ((k + 1 < n ? stack.charCodeAt(k + 1) : 0) << 16);
  i32[at + STACK_LEN] = n;
  fill(at, desc);
  Atomics.store(i32, at + SEQ, seq + 1);
  Atomics.store(i32, at + STATE, sync ? SYNC : PROMISE);
  return slot;
}

/**
 * Makes the record's `SEQ` odd for a write (readers retry meanwhile); the write ends by storing
 * the returned value + 1. Not a blind increment: a thread terminated in the middle of a write
 * leaves `SEQ` odd, and the next thread of its row must not turn it even for its own writes.
 */
function beginWrite(at: number): number {
  const seq = (i32[at + SEQ] as number) | 1;
  Atomics.store(i32, at + SEQ, seq);
  return seq;
}

function fill(at: number, desc: WaitDesc): void {
  i32[at + KIND] = desc.kind;
  i32[at + OP] = desc.op;
  i32[at + ID] = desc.src._diagId();
  i32[at + OWNER] = desc.src._diagOwner?.() ?? 0;
  i32[at + DETAIL] = desc.src._diagDetail?.(desc.op) ?? 0;
  i32[at + GEN] = Atomics.load(i32, H_LIVE_GEN);
  f64[(at + REFRESHED) >> 1] = performance.timeOrigin + performance.now();
}

/**
 * The wait in `slot` now waits for `desc` (a Condition's wait turned re-acquire), or it woke
 * (`woken`: by a notify): its owner and details are read again.
 */
export function updateRecord(slot: number, desc: WaitDesc, untimed: boolean, woken = false): void {
  if (slot < 0 || slot >= SLOTS) return;
  const at = myBase() + RECS + slot * REC_WORDS;
  const seq = beginWrite(at);
  fill(at, desc);
  if (untimed) i32[at + FLAGS] = (i32[at + FLAGS] as number) & ~(TIMED | SIGNAL);
  if (woken) i32[at + WAKES] = (i32[at + WAKES] as number) + 1;
  Atomics.store(i32, at + SEQ, seq + 1);
}

/** Ends the wait recorded in `slot`. */
export function closeRecord(slot: number): void {
  if (slot < 0) return;
  const b = myBase();
  if (slot === SLOTS) {
    Atomics.sub(i32, b + MORE, 1);
    return;
  }
  Atomics.store(i32, b + RECS + slot * REC_WORDS + STATE, 0);
}

/** One record as read from any thread. */
export interface RawRecord {
  sync: boolean;
  kind: number;
  id: number;
  op: number;
  flags: number;
  owner: number;
  detail: number;
  wakes: number;
  gen: number;
  since: number;
  timeout: number;
  refreshed: number;
  stack: string;
}

/** The records of live row `row` (a consistent copy of each), and the count of the uncounted rest. */
export function readRow(row: number): { records: RawRecord[]; more: number } {
  if (i32 === undefined) views();
  const b = WAIT_BASE + row * ROW_WORDS;
  const records: RawRecord[] = [];
  for (let slot = 0; slot < SLOTS; slot++) {
    const at = b + RECS + slot * REC_WORDS;
    for (let tries = 0; tries < 8; tries++) {
      const seq = Atomics.load(i32, at + SEQ);
      const state = Atomics.load(i32, at + STATE);
      if (state !== SYNC && state !== PROMISE) break;
      // An odd SEQ: `updateRecord` is rewriting it (STATE stays as it was meanwhile).
      if (seq & 1) continue;
      const n = Math.min(i32[at + STACK_LEN] as number, STACK_UNITS);
      const s = b + STACKS + (slot * STACK_UNITS) / 2;
      const units: number[] = [];
      for (let k = 0; k < n; k++) {
        const w = i32[s + (k >> 1)] as number;
        units.push(k & 1 ? w >>> 16 : w & 0xffff);
      }
      const r: RawRecord = {
        sync: state === SYNC,
        kind: i32[at + KIND] as number,
        id: i32[at + ID] as number,
        op: i32[at + OP] as number,
        flags: i32[at + FLAGS] as number,
        owner: i32[at + OWNER] as number,
        detail: i32[at + DETAIL] as number,
        wakes: i32[at + WAKES] as number,
        gen: i32[at + GEN] as number,
        since: f64[(at + SINCE) >> 1] as number,
        timeout: f64[(at + TIMEOUT) >> 1] as number,
        refreshed: f64[(at + REFRESHED) >> 1] as number,
        stack: String.fromCharCode(...units),
      };
      if (Atomics.load(i32, at + SEQ) === seq && Atomics.load(i32, at + STATE) === state) {
        records.push(r);
        break;
      }
    }
  }
  return { records, more: Atomics.load(i32, b + MORE) };
}
