/**
 * Park nodes: one Int32 "park word" per waiting `Condition.wait`, allocated in the arena so that
 * any thread can wake any waiter exactly (no thundering herd, no stolen wake-ups) and in FIFO order.
 *
 * A node is 4 words at `NODE_BASE + 4 * n` (node 0 is the null link):
 * - `PARK`: `WAITING` while its waiter sleeps on it; the notifier stores `NOTIFIED` and wakes it.
 * - `NEXT`, `PREV`: links in the waiting list of one condition; written only under that
 *   condition's lock.
 * - `OWNER`: ident of the waiting thread, so a notifier can skip waiters whose thread died.
 *
 * A node also serves as a *ledger entry*: the record of one wait on a primitive whose own waiter
 * slots are all taken (`sync/waiters.ts`). Then `PARK` is `LEDGER` (stored last, by the owner),
 * `NEXT`/`PREV` hold the primitive's uid (low, high word) and `OWNER` the waiting thread. Only
 * the owner frees its entry, unless the owner died: then whoever counts, or an allocator that
 * has run out of nodes, reclaims it (CAS of `PARK` from `LEDGER` to 0 decides who).
 *
 * Free nodes form a stack linked through `NEXT`, guarded by a small lock in the header
 * (`H_NODE_LOCK`: the holder's ident; `H_NODE_LOCK_WAITERS`: sleepers), with `H_NODE_BUMP` the
 * first never-used node. Its critical sections are a few loads and stores.
 */
import {
  EXITED,
  H_NODE_BUMP,
  H_NODE_FREE,
  H_NODE_LOCK,
  H_NODE_LOCK_WAITERS,
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

export const WAITING = 1;
export const NOTIFIED = 2;
export const LEDGER = 3;
/** Park words from here up are codes a notifier chose (`Condition._notify`: a Barrier's outcomes). */
export const FIRST_NOTIFY_CODE = 4;

/** Word index of field `f` of node `n`. */
export function at(n: number, f: number): number {
  return NODE_BASE + n * NODE_WORDS + f;
}

/**
 * The allocator's lock holds its holder's ident (0: free), so that a thread killed inside the
 * few instructions it guards cannot block every Condition in the process: a waiter that finds the
 * holder dead takes the lock over. The list stays consistent (a node may leak): each step of the
 * critical section leaves the stack well formed.
 */
function lockAllocator(i32: Int32Array): void {
  const me = runtime().ident;
  for (let spins = 0; ; spins++) {
    const holder = Atomics.compareExchange(i32, H_NODE_LOCK, 0, me);
    if (holder === 0) return;
    if (spins < 100) continue;
    Atomics.add(i32, H_NODE_LOCK_WAITERS, 1);
    Atomics.wait(i32, H_NODE_LOCK, holder, 5);
    Atomics.sub(i32, H_NODE_LOCK_WAITERS, 1);
    if (Atomics.load(i32, H_NODE_LOCK) === holder && gone(i32, holder)) {
      if (Atomics.compareExchange(i32, H_NODE_LOCK, holder, me) === holder) return;
    }
  }
}

function gone(i32: Int32Array, ident: number): boolean {
  const s = statusOf(i32, ident);
  return (s & EXITED) !== 0 || (s & STATE_MASK) === State.Died;
}

function unlockAllocator(i32: Int32Array): void {
  Atomics.store(i32, H_NODE_LOCK, 0);
  if (Atomics.load(i32, H_NODE_LOCK_WAITERS) > 0) Atomics.notify(i32, H_NODE_LOCK, 1);
}

/** A fresh node with PARK = WAITING and OWNER = `owner`, unlinked. */
export function allocNode(i32: Int32Array, owner: number): number {
  lockAllocator(i32);
  if (i32[H_NODE_FREE] === 0 && (i32[H_NODE_BUMP] as number) >= NODE_CAP) reclaimDeadLedgers(i32);
  let n = i32[H_NODE_FREE] as number;
  if (n !== 0) i32[H_NODE_FREE] = i32[at(n, NEXT)] as number;
  else {
    n = i32[H_NODE_BUMP] as number;
    if (n >= NODE_CAP) {
      unlockAllocator(i32);
      throw new RangeError(`threadkit: more than ${NODE_CAP - 1} condition waits are pending at once`);
    }
    i32[H_NODE_BUMP] = n + 1;
  }
  unlockAllocator(i32);
  i32[at(n, NEXT)] = 0;
  i32[at(n, PREV)] = 0;
  Atomics.store(i32, at(n, OWNER), owner);
  Atomics.store(i32, at(n, PARK), WAITING);
  return n;
}

/** Returns a node to the free stack. */
export function freeNode(i32: Int32Array, n: number): void {
  Atomics.store(i32, at(n, PARK), 0);
  lockAllocator(i32);
  i32[at(n, NEXT)] = i32[H_NODE_FREE] as number;
  i32[H_NODE_FREE] = n;
  unlockAllocator(i32);
}

/** Whether ledger entry `n` is one of a dead thread, now taken back from it by this caller. */
function takeDeadLedger(i32: Int32Array, n: number): boolean {
  return (
    Atomics.load(i32, at(n, PARK)) === LEDGER &&
    gone(i32, Atomics.load(i32, at(n, OWNER))) &&
    Atomics.compareExchange(i32, at(n, PARK), LEDGER, 0) === LEDGER
  );
}

/**
 * With the allocator's lock held and every node used: returns the ledger entries of dead threads
 * to the free stack. Entries are freed by their owners, so only a storm of threads killed while
 * waiting leaves any; this is where they stop adding up.
 */
function reclaimDeadLedgers(i32: Int32Array): void {
  for (let n = 1; n < NODE_CAP; n++) {
    if (takeDeadLedger(i32, n)) {
      i32[at(n, NEXT)] = i32[H_NODE_FREE] as number;
      i32[H_NODE_FREE] = n;
    }
  }
}

/** Records a wait of thread `owner` on the primitive whose uid is `uidLo`, `uidHi`. */
export function allocLedger(i32: Int32Array, owner: number, uidLo: number, uidHi: number): number {
  const n = allocNode(i32, owner);
  i32[at(n, NEXT)] = uidLo;
  i32[at(n, PREV)] = uidHi;
  Atomics.store(i32, at(n, PARK), LEDGER);
  return n;
}

/** Ends a wait recorded by `allocLedger` (called by its owner). */
export function freeLedger(i32: Int32Array, n: number): void {
  if (Atomics.compareExchange(i32, at(n, PARK), LEDGER, 0) === LEDGER) freeNode(i32, n);
}

/**
 * How many waits live threads have recorded on the primitive `uidLo`, `uidHi`; entries of dead
 * threads met on the way are reclaimed. A scan of every node ever used: for `util.inspect` only.
 */
export function countLedger(i32: Int32Array, uidLo: number, uidHi: number): number {
  let count = 0;
  const end = Atomics.load(i32, H_NODE_BUMP);
  for (let n = 1; n < end; n++) {
    if (Atomics.load(i32, at(n, PARK)) !== LEDGER) continue;
    if (takeDeadLedger(i32, n)) freeNode(i32, n);
    else if (Atomics.load(i32, at(n, NEXT)) === uidLo && Atomics.load(i32, at(n, PREV)) === uidHi) count++;
  }
  return count;
}
