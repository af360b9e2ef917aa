/**
 * Park nodes: one Int32 "park word" per waiting `Condition.wait`, allocated in the arena so that
 * any thread can wake any waiter exactly (no thundering herd, no stolen wake-ups) and in FIFO order.
 *
 * A node is `NODE_WORDS` words at `NODE_BASE + NODE_WORDS * n` (node 0 is the null link):
 * - `PARK`: `WAITING` while its waiter sleeps on it; the notifier stores `NOTIFIED` (or a code of
 *   its own) and wakes it. 0: the node is free.
 * - `NEXT`, `PREV`: links in the wait list of one condition.
 * - `OWNER`: ident of the waiting thread, so that a notifier can skip waiters whose thread died.
 * - `LIST`: the anchor (below) of the list the node is linked in, 0 once unlinked.
 *
 * A condition's wait list hangs from an *anchor*, a node of the arena too (`PARK` = `ANCHOR`,
 * `NEXT`/`PREV` the first and last waiter, `OWNER`/`LIST` the condition's uid, low and high
 * word). The condition remembers its anchor's number; the anchor exists only while the list is
 * not empty, and names its condition so that a condition can tell that the node it remembers is
 * no longer its anchor (it was let go, maybe reused). So the whole list is in the arena, where
 * whoever holds the allocator's lock can see it, the condition's own buffer included or not: a
 * waiter whose thread died can be unlinked and freed even when its condition was dropped first
 * (a dropped condition leaves no memory of its list anywhere else), see `sweep`.
 *
 * A node also serves as a *ledger entry*: the record of one wait on a primitive whose own waiter
 * slots are all taken (`sync/waiters.ts`). Then `PARK` is `LEDGER`, `NEXT`/`PREV` hold the
 * primitive's uid (low, high word) and `OWNER` the waiting thread.
 *
 * ## One lock, one journal
 *
 * Free nodes form a stack linked through `NEXT` (`H_NODE_FREE`; `H_NODE_BUMP` the first
 * never-used node), and every change to nodes, lists and the stack is made under one small lock
 * in the arena header (`H_NODE_LOCK`: the holder's ident; `H_NODE_LOCK_WAITERS`: sleepers). A
 * thread can be terminated at any instruction, also while it holds that lock; a waiter that
 * finds the holder dead takes the lock over. So that the dead holder's half-done step is
 * harmless, each step (take a node and link it; unlink one and free it; …) first collects its
 * word writes, then writes them into the journal (`H_NODE_JOURNAL`), publishes them by storing
 * their count in `H_NODE_JLEN`, applies them and clears `H_NODE_JLEN`: a holder that dies before
 * the count is stored changed nothing, and one that dies after it is completed by the next
 * holder, which replays the journal (the writes are absolute values: replaying is idempotent).
 *
 * ## Dead waiters
 *
 * A waiter whose thread died never comes back for its node. `notify` skips and frees such nodes
 * when it meets them; the rest (in a condition nobody notifies any more, or that was dropped; a
 * node a thread was killed holding) are swept: after any thread ended (`H_THREAD_ENDS` moved
 * since `H_NODE_SWEPT`), the next allocation first frees every node of a dead thread, unlinking
 * it from its list (and letting the anchor go if the list empties). Only a dead thread's nodes
 * are touched: a live waiter's node is its own until it leaves.
 */
import {
  EXITED,
  H_NODE_BUMP,
  H_NODE_FREE,
  H_NODE_JLEN,
  H_NODE_JOURNAL,
  H_NODE_JOURNAL_MAX,
  H_NODE_LOCK,
  H_NODE_LOCK_WAITERS,
  H_NODE_SWEPT,
  H_THREAD_ENDS,
  NODE_BASE,
  NODE_CAP,
  NODE_WORDS,
  runtime,
  State,
  STATE_MASK,
  statusOf,
} from './runtime.js';

export const PARK = 0;
export const NEXT = 1;
export const PREV = 2;
export const OWNER = 3;
export const LIST = 4;

export const WAITING = 1;
export const NOTIFIED = 2;
export const LEDGER = 3;
/** Park words from here up are codes a notifier chose (`Condition._notify`: a Barrier's outcomes). */
export const FIRST_NOTIFY_CODE = 4;
/** The park word of an anchor (negative: never a code a waiter is woken with). */
const ANCHOR = -1;

/** Word index of field `f` of node `n`. */
export function at(n: number, f: number): number {
  return NODE_BASE + n * NODE_WORDS + f;
}

function gone(i32: Int32Array, ident: number): boolean {
  const s = statusOf(i32, ident);
  return (s & EXITED) !== 0 || (s & STATE_MASK) === State.Died;
}

// ---- the lock and the journal ---------------------------------------------------------------

/** The writes of the step being prepared, in order (a word written twice keeps its last value). */
const pending = new Map<number, number>();

/** A word as the step being prepared will leave it. */
function read(i32: Int32Array, index: number): number {
  const v = pending.get(index);
  return v === undefined ? (i32[index] as number) : v;
}

function write(index: number, value: number): void {
  pending.set(index, value);
}

/** Publishes and applies the prepared writes as one step (see the file comment). */
function commit(i32: Int32Array): void {
  if (pending.size === 1) {
    // One word: its store is atomic by itself.
    for (const [index, value] of pending) Atomics.store(i32, index, value);
  } else if (pending.size > 1) {
    if (pending.size > H_NODE_JOURNAL_MAX) throw new RangeError('threadkit: park-node journal overflow');
    let j = H_NODE_JOURNAL;
    for (const [index, value] of pending) {
      i32[j++] = index;
      i32[j++] = value;
    }
    Atomics.store(i32, H_NODE_JLEN, pending.size);
    apply(i32, false);
  }
  pending.clear();
}

function apply(i32: Int32Array, replay: boolean): void {
  const n = Atomics.load(i32, H_NODE_JLEN);
  for (let k = 0; k < n; k++) {
    const index = i32[H_NODE_JOURNAL + 2 * k] as number;
    Atomics.store(i32, index, i32[H_NODE_JOURNAL + 2 * k + 1] as number);
    // Completing a notify whose notifier died: its waiter must still be woken.
    if (replay && index >= NODE_BASE && (index - NODE_BASE) % NODE_WORDS === PARK) Atomics.notify(i32, index);
  }
  Atomics.store(i32, H_NODE_JLEN, 0);
}

/**
 * Takes the allocator's lock, which holds its holder's ident (0: free), so that a thread killed
 * inside the few instructions it guards cannot block every Condition in the process: a waiter
 * that finds the holder dead takes the lock over, and completes the step the holder published.
 */
function lock(i32: Int32Array): void {
  const me = runtime().ident;
  for (let spins = 0; ; spins++) {
    const holder = Atomics.compareExchange(i32, H_NODE_LOCK, 0, me);
    if (holder === 0) break;
    if (spins < 100) continue;
    Atomics.add(i32, H_NODE_LOCK_WAITERS, 1);
    Atomics.wait(i32, H_NODE_LOCK, holder, 5);
    Atomics.sub(i32, H_NODE_LOCK_WAITERS, 1);
    if (Atomics.load(i32, H_NODE_LOCK) === holder && gone(i32, holder)) {
      if (Atomics.compareExchange(i32, H_NODE_LOCK, holder, me) === holder) break;
    }
  }
  pending.clear();
  if (Atomics.load(i32, H_NODE_JLEN) !== 0) apply(i32, true);
}

function unlock(i32: Int32Array): void {
  pending.clear();
  Atomics.store(i32, H_NODE_LOCK, 0);
  if (Atomics.load(i32, H_NODE_LOCK_WAITERS) > 0) Atomics.notify(i32, H_NODE_LOCK, 1);
}

/** Runs `step` holding the lock; it prepares writes with `read`/`write` and calls `commit`. */
function locked<R>(i32: Int32Array, step: () => R): R {
  lock(i32);
  try {
    return step();
  } finally {
    unlock(i32);
  }
}

// ---- steps (the lock held; each prepares writes, the caller commits) -------------------------

/** A free node, taken (written into the step), or 0 if every node is in use. */
function take(i32: Int32Array): number {
  const n = read(i32, H_NODE_FREE);
  if (n !== 0) {
    write(H_NODE_FREE, read(i32, at(n, NEXT)));
    return n;
  }
  const bump = read(i32, H_NODE_BUMP);
  if (bump >= NODE_CAP) return 0;
  write(H_NODE_BUMP, bump + 1);
  return bump;
}

/** Sets every field of node `n`. */
function fill(n: number, park: number, next: number, prev: number, owner: number, list: number): void {
  write(at(n, PARK), park);
  write(at(n, NEXT), next);
  write(at(n, PREV), prev);
  write(at(n, OWNER), owner);
  write(at(n, LIST), list);
}

/** Returns node `n` to the free stack. */
function give(i32: Int32Array, n: number): void {
  fill(n, 0, read(i32, H_NODE_FREE), 0, 0, 0);
  write(H_NODE_FREE, n);
}

/** Whether node `a` is the anchor of the condition whose uid is `lo`, `hi`. */
function isAnchorOf(i32: Int32Array, a: number, lo: number, hi: number): boolean {
  return (
    a > 0 &&
    a < NODE_CAP &&
    read(i32, at(a, PARK)) === ANCHOR &&
    read(i32, at(a, OWNER)) === lo &&
    read(i32, at(a, LIST)) === hi
  );
}

/** Unlinks node `n` from its list, if it is in one; the anchor of a list left empty is let go. */
function unlink(i32: Int32Array, n: number): void {
  const a = read(i32, at(n, LIST));
  if (a === 0) return;
  const prev = read(i32, at(n, PREV));
  const next = read(i32, at(n, NEXT));
  write(prev === 0 ? at(a, NEXT) : at(prev, NEXT), next);
  write(next === 0 ? at(a, PREV) : at(next, PREV), prev);
  write(at(n, PREV), 0);
  write(at(n, NEXT), 0);
  write(at(n, LIST), 0);
  if (prev === 0 && next === 0) give(i32, a);
}

/**
 * Frees every node of a dead thread: its waiter will never come back for it (see the file
 * comment). One step per node. A full scan of the nodes ever used, run only after a thread
 * ended, or when every node is in use.
 */
function sweep(i32: Int32Array): void {
  const ends = Atomics.load(i32, H_THREAD_ENDS);
  const end = Atomics.load(i32, H_NODE_BUMP);
  for (let n = 1; n < end; n++) {
    const park = Atomics.load(i32, at(n, PARK));
    if (park === 0 || park === ANCHOR || !gone(i32, Atomics.load(i32, at(n, OWNER)))) continue;
    if (park !== LEDGER) unlink(i32, n);
    give(i32, n);
    commit(i32);
  }
  Atomics.store(i32, H_NODE_SWEPT, ends);
}

/**
 * Runs `step`, which takes `count` nodes with `take` (0 when none is left), sweeping first if a
 * thread ended since the last sweep, and once more if nodes ran out.
 */
function allocating<R>(i32: Int32Array, step: () => R | undefined): R {
  if (Atomics.load(i32, H_THREAD_ENDS) !== Atomics.load(i32, H_NODE_SWEPT)) sweep(i32);
  let r = step();
  if (r === undefined) {
    pending.clear();
    sweep(i32);
    r = step();
    if (r === undefined) {
      throw new RangeError(`threadkit: more than ${NODE_CAP - 1} condition waits are pending at once`);
    }
  }
  commit(i32);
  return r;
}

// ---- wait lists (`sync/condition.ts`) -------------------------------------------------------

/**
 * Links a new park node of thread `owner` (`PARK` = `WAITING`) at the tail of the wait list of
 * the condition whose uid is `lo`, `hi`, and whose anchor was `anchor` when last seen (a new
 * anchor is made if that is no longer it). Returns the node; its `LIST` word is the anchor for
 * the condition to remember.
 */
export function enqueueWaiter(i32: Int32Array, anchor: number, lo: number, hi: number, owner: number): number {
  return locked(i32, () =>
    allocating(i32, () => {
      let a = anchor;
      if (!isAnchorOf(i32, a, lo, hi)) {
        a = take(i32);
        if (a === 0) return undefined;
        fill(a, ANCHOR, 0, 0, lo, hi);
      }
      const n = take(i32);
      if (n === 0) return undefined;
      const tail = read(i32, at(a, PREV));
      fill(n, WAITING, 0, tail, owner, a);
      write(tail === 0 ? at(a, NEXT) : at(tail, NEXT), n);
      write(at(a, PREV), n);
      return n;
    }),
  );
}

/** A waiter leaves: its node is unlinked if it still is in its list, and freed. */
export function leaveWaiter(i32: Int32Array, n: number): void {
  locked(i32, () => {
    unlink(i32, n);
    give(i32, n);
    commit(i32);
  });
}

/**
 * Takes the first waiter off the list of the condition `lo`, `hi` (anchor `anchor`) and stores
 * `code` in its park word: returns the node, for the caller to `Atomics.notify`; -1 if that
 * waiter's thread had died (its node is freed); 0 if the list is empty.
 */
export function popWaiter(i32: Int32Array, anchor: number, lo: number, hi: number, code: number): number {
  // No waiter, no lock to take (a notify with nobody waiting is common). Waiters join the list only
  // under the condition's lock, which the caller holds, so a list seen empty stays empty; a stale
  // anchor that looks busy is told apart below, under the lock.
  if (anchor <= 0 || anchor >= NODE_CAP) return 0;
  if (Atomics.load(i32, at(anchor, PARK)) !== ANCHOR || Atomics.load(i32, at(anchor, NEXT)) === 0) return 0;
  return locked(i32, () => {
    if (!isAnchorOf(i32, anchor, lo, hi)) return 0;
    const n = read(i32, at(anchor, NEXT));
    if (n === 0) return 0;
    unlink(i32, n);
    const dead = gone(i32, read(i32, at(n, OWNER)));
    if (dead) give(i32, n);
    else write(at(n, PARK), code);
    commit(i32);
    return dead ? -1 : n;
  });
}

/**
 * How many waiters in the list of the condition `lo`, `hi` belong to live threads. `exact`:
 * under the allocator's lock; else a snapshot that may be torn by a concurrent change (for
 * `util.inspect`), bounded in length.
 */
export function liveWaiters(i32: Int32Array, anchor: number, lo: number, hi: number, exact: boolean): number {
  const count = (): number => {
    if (!isAnchorOf(i32, anchor, lo, hi)) return 0;
    let live = 0;
    let n = Atomics.load(i32, at(anchor, NEXT));
    for (let steps = 0; n > 0 && n < NODE_CAP && steps < NODE_CAP; steps++) {
      if (!gone(i32, Atomics.load(i32, at(n, OWNER)))) live++;
      n = Atomics.load(i32, at(n, NEXT));
    }
    return live;
  };
  return exact ? locked(i32, count) : count();
}

// ---- ledger entries (`sync/waiters.ts`) -------------------------------------------------------

/** Records a wait of thread `owner` on the primitive whose uid is `uidLo`, `uidHi`. */
export function allocLedger(i32: Int32Array, owner: number, uidLo: number, uidHi: number): number {
  return locked(i32, () =>
    allocating(i32, () => {
      const n = take(i32);
      if (n === 0) return undefined;
      fill(n, LEDGER, uidLo, uidHi, owner, 0);
      return n;
    }),
  );
}

/** Ends a wait recorded by `allocLedger` (called by its owner). */
export function freeLedger(i32: Int32Array, n: number): void {
  locked(i32, () => {
    // A sweep may have freed it if this thread was taken for dead; never free a node twice.
    if (read(i32, at(n, PARK)) !== LEDGER || read(i32, at(n, OWNER)) !== runtime().ident) return;
    give(i32, n);
    commit(i32);
  });
}

/**
 * How many waits live threads have recorded on the primitive `uidLo`, `uidHi`. A scan of every
 * node ever used: for `util.inspect` only. (Entries of dead threads are the sweep's to free.)
 */
export function countLedger(i32: Int32Array, uidLo: number, uidHi: number): number {
  let count = 0;
  const end = Atomics.load(i32, H_NODE_BUMP);
  for (let n = 1; n < end; n++) {
    if (Atomics.load(i32, at(n, PARK)) !== LEDGER) continue;
    if (Atomics.load(i32, at(n, NEXT)) !== uidLo || Atomics.load(i32, at(n, PREV)) !== uidHi) continue;
    if (!gone(i32, Atomics.load(i32, at(n, OWNER)))) count++;
  }
  return count;
}
