/**
 * The storage engine of every queue kind: items in shared memory, in FIFO, LIFO or priority
 * order. It knows nothing of waiting, and takes no lock itself: each method says which of the
 * queue's two mutexes its caller must hold (`queue.ts` takes them), and none of them waits.
 *
 * ## Two mutexes
 *
 * As the two-lock queue of Michael and Scott ("Simple, Fast, and Practical Non-Blocking and
 * Blocking Concurrent Queue Algorithms", 1996): a FIFO queue has a *tail* mutex that puts take
 * and a *head* mutex that gets take, so one producer and one consumer never contend for a lock,
 * and each side's words stay in its own core's cache. A put writes its entry in free space and
 * publishes it by storing `PUTS`; a get reads the entry `PUTS` made visible and frees it by
 * storing `GETS`. What changes the layout (growing the index, the reset after draining,
 * discarding everything) holds both (tail first, then head). A LIFO queue and a PriorityQueue
 * change one end for puts and gets alike: every operation holds both.
 *
 * ## Memory
 *
 * One small fixed buffer per queue, the *control* buffer (`CONTROL_WORDS` Int32 words), holds the
 * counters, an inline *index* of `INLINE_CAP` entries and an inline data area of
 * `INLINE_DATA_BYTES`. A burst grows the index into a buffer of its own (twice the size each
 * time), and records that do not fit go to *chunks*: plain SharedArrayBuffers of `CHUNK_BYTES`,
 * or one of exactly its size for a big record. Both are carried by id (`wire/sabs.ts`), held by
 * the supervisor on behalf of the queue, and given back as they empty and when the queue drains
 * (but for an index of up to `RETAIN_CAP` entries and one 64 KiB chunk, kept for the next
 * burst; a queue shut down with `immediate` gives back everything): a burst does not pin memory
 * for the queue's lifetime.
 *
 * Control words, and who writes them. Words that different parties write, or that one writes
 * and another reads often, sit 128 bytes apart (two cache lines, which some cores fetch in
 * pairs), so that a producer and a consumer on two cores do not keep stealing a line from each
 * other:
 * - constant or rare: `KIND`, `MAXSIZE`; `SHUT` (1 once shut down); `IDX_ID`, `IDX_CAP` (the
 *   index buffer's id, 0 for the inline index, and its capacity; both mutexes); `CHUNK_ID` (the
 *   chunk records are appended to, 0 for the inline data area; tail side); `SEQ` (PriorityQueue
 *   insertion counter: ties leave in insertion order). (The count of Queue objects alive, which
 *   decides when the queue's buffers are let go, is in a small buffer of its own, `queue.ts`.)
 * - `TAIL`: the tail mutex (`shared/mutex.ts`), alone: consumers never touch it.
 * - producers' counters: `PUTS` (items ever put, a wrapping 32-bit counter, which consumers
 *   read), `PUT_EV` (bumped after a put while a getter may sleep: getters sleep on it),
 *   `CHUNK_USED` (bytes used of the inline data area).
 * - `HEAD` with `DONE` (items marked done or discarded: unfinished tasks `= PUTS - DONE`).
 * - consumers' counters: `GETS`, `GET_EV` (putters sleep on it).
 * - rarely written: `GETTERS`, `PUTTERS`, `JOINERS` (waits that may be sleeping, so that a
 *   change writes and notifies only when someone listens), `DONE_EV` (joiners sleep on it),
 *   `CHUNK_LIVE` (the inline data area's record count, below).
 * - then the journal (`JLEN` and its entries, below), `WHO_*` (which threads wait, for
 *   `util.inspect`, `sync/waiters.ts`), the inline index and the inline data area.
 *
 * A chunk's own header is its first two words: bytes used (tail side), and `live << 1 | retired`:
 * its records alive (puts add 2, gets take 2) and whether it stopped being the current chunk.
 * Whichever side turns that word to exactly 1 (nothing alive, retired) lets the chunk go, so it
 * is let go exactly once, and never while a record in it can still be read.
 *
 * An index entry is 8 words: `[tag | aux << 8, w1 … w6, seq]`. A number is a float64 in words 2-3;
 * a short string its UTF-16 units in words 1-6; a record (`item.ts`) is `[chunk id, byte offset,
 * byte length, format | view << 8, key length, sab count]` (the lengths read as uint32: a record
 * may take up to 4 GiB, `MAX_RECORD`). FIFO and LIFO entries sit in the index in order: item number `s` (counting puts) at `s mod capacity` for FIFO, the stack for LIFO.
 * A PriorityQueue index is `capacity` words of *slot numbers* followed by `capacity` entries: the
 * first `qsize` words are a binary heap of the slots in use, the rest the free slots, so the
 * array is always a permutation and an item never moves, only its slot number does.
 *
 * ## Dying in the middle
 *
 * A thread can be terminated at any instruction, also while it holds a mutex. Every operation
 * therefore prepares what is invisible first (entry and record bytes in free space) and then
 * publishes it in one atomic step: a FIFO or LIFO put is visible once `PUTS` is stored, a get
 * once `GETS` is. An operation that must change several words (a heap's sift, growing the index,
 * the reset after draining, discarding everything) writes the new values into the journal and
 * their count into `J_COUNT`, publishes them by storing in `JLEN` its own ident, negated (the
 * journal is being applied, by that thread), applies them and clears `JLEN`. A thread that takes
 * a mutex over from a dead holder (or any holder) finds `JLEN` naming a dead thread, claims the
 * journal by a CAS of `JLEN` to its own ident and applies it again: applying is idempotent, and
 * the claim makes sure that a producer and a consumer, each taking over one of the two mutexes
 * of a thread that died holding both, do not both apply it, one after the other has moved on.
 * So a dead holder's half-done step is either invisible or completed. What it can leave behind
 * is memory: a record's space, a chunk counted alive; all of it is reclaimed when the queue
 * drains, or when it is dropped.
 */
import { argRangeError } from '../errors.js';
import { EXITED, runtime, State, STATE_MASK, statusOf } from '../shared/runtime.js';
import { WAITER_WORDS } from '../sync/waiters.js';
import { dropSabs, holdSabs, resolveSabs } from '../wire/sabs.js';
import {
  F_STR16,
  F_V8,
  F_VIEW,
  type Image,
  stringOf,
  T_FALSE,
  T_NULL,
  T_NUM,
  T_REC,
  T_STR,
  T_TRUE,
  T_UNDEF,
  recordValue,
  viewOf,
} from './item.js';
import { compare, encodeKey, type Key, keyOf, STOPPED } from './priority.js';

// ---- layout --------------------------------------------------------------------------------

/** After the primitive header (`sync/primitive.ts`: uid and diagnostic id, words 0-2). */
export const KIND = 3;
export const MAXSIZE = 4;
export const SHUT = 5;
const IDX_ID = 6;
const IDX_CAP = 7;
const CHUNK_ID = 8;
const BIG_CHUNK_ID = 9;
const SEQ = 10;
export const TAIL = 32;
export const PUTS = 64;
export const PUT_EV = 65;
const CHUNK_USED = 66;
export const HEAD = 96;
const DONE = 97;
export const GETS = 128;
export const GET_EV = 129;
export const GETTERS = 160;
export const PUTTERS = 161;
export const JOINERS = 162;
export const DONE_EV = 163;
const CHUNK_LIVE = 164;
/** `SPARES` pairs `[chunk id, bytes]`: emptied big-record chunks kept for reuse (see `#allocate`). */
const SPARE = 176;
const SPARES = 2;
/** How many entries the journal being applied has. */
const J_COUNT = 190;
const JLEN = 192;
const J_BASE = 193;
const JMAX = 48;
export const WHO_GET = J_BASE + 3 * JMAX;
export const WHO_PUT = WHO_GET + WAITER_WORDS;
export const WHO_JOIN = WHO_PUT + WAITER_WORDS;
/** Word offset of the inline index (even: entries hold float64s). */
const INLINE_IDX = (WHO_JOIN + WAITER_WORDS + 1) & ~1;
const INLINE_CAP = 16;
const ENTRY = 8;
/** Words an index of `cap` entries takes (slot numbers, then entries). */
const indexWords = (cap: number): number => cap * (ENTRY + 1);
const INLINE_DATA = INLINE_IDX + indexWords(INLINE_CAP);
const INLINE_DATA_BYTES = 1024;
export const CONTROL_WORDS = INLINE_DATA + INLINE_DATA_BYTES / 4;

/** The largest index a drained queue keeps (entries: 4096 × 36 bytes). */
const RETAIN_CAP = 4096;
/**
 * Records above `BIG_RECORD` share chunks of `BIG_CHUNK_BYTES` (so that a stream of 1 MiB items
 * costs the other threads one supervisor round trip per 8 MiB, not per item); those above half
 * of that get a chunk each. Emptied chunks up to `SPARE_BYTES` are kept for reuse, `SPARES` at most.
 */
const BIG_CHUNK_BYTES = 8 << 20;
const SPARE_BYTES = BIG_CHUNK_BYTES;
/** Chunk size, and the record size above which a record gets a chunk of its own. */
const CHUNK_BYTES = 64 * 1024;
const BIG_RECORD = CHUNK_BYTES / 2;
/** A chunk's header: bytes used, `live << 1 | retired` (2 words; records start 8-byte aligned). */
const CHUNK_HEADER = 8;
/**
 * The largest record: its chunk (header included) must be viewable as one Uint8Array, which
 * Node 20 allows up to 4 GiB; its length is then a uint32 in its entry.
 */
const MAX_RECORD = 2 ** 32 - CHUNK_HEADER;

export const FIFO = 0;
export const LIFO = 1;
export const PRIORITY = 2;

/** Where a record's chunk is: its buffer, its words, and the index of its header's first word. */
interface Place {
  sab: SharedArrayBuffer;
  i32: Int32Array;
  /** Word of bytes used; the next word is `live << 1 | retired`. */
  used: number;
  live: number;
}

/** The index: its words, its float64 view, the word offset of its start, its capacity. */
interface Index {
  i32: Int32Array;
  f64: Float64Array;
  u16: Uint16Array;
  base: number;
  cap: number;
}

/**
 * The string of `n` (at most 12) UTF-16 units from `u[a]`. One call with the units as arguments:
 * three to five times faster than building the string from an array or piece by piece.
 */
function shortString(u: Uint16Array, a: number, n: number): string {
  const c = String.fromCharCode as (...units: (number | undefined)[]) => string;
  switch (n) {
    case 0:
      return '';
    case 1:
      return c(u[a]);
    case 2:
      return c(u[a], u[a + 1]);
    case 3:
      return c(u[a], u[a + 1], u[a + 2]);
    case 4:
      return c(u[a], u[a + 1], u[a + 2], u[a + 3]);
    case 5:
      return c(u[a], u[a + 1], u[a + 2], u[a + 3], u[a + 4]);
    case 6:
      return c(u[a], u[a + 1], u[a + 2], u[a + 3], u[a + 4], u[a + 5]);
    case 7:
      return c(u[a], u[a + 1], u[a + 2], u[a + 3], u[a + 4], u[a + 5], u[a + 6]);
    case 8:
      return c(u[a], u[a + 1], u[a + 2], u[a + 3], u[a + 4], u[a + 5], u[a + 6], u[a + 7]);
    case 9:
      return c(u[a], u[a + 1], u[a + 2], u[a + 3], u[a + 4], u[a + 5], u[a + 6], u[a + 7], u[a + 8]);
    case 10:
      return c(u[a], u[a + 1], u[a + 2], u[a + 3], u[a + 4], u[a + 5], u[a + 6], u[a + 7], u[a + 8], u[a + 9]);
    case 11:
      return c(
        u[a],
        u[a + 1],
        u[a + 2],
        u[a + 3],
        u[a + 4],
        u[a + 5],
        u[a + 6],
        u[a + 7],
        u[a + 8],
        u[a + 9],
        u[a + 10],
      );
    case 12:
      return c(
        u[a],
        u[a + 1],
        u[a + 2],
        u[a + 3],
        u[a + 4],
        u[a + 5],
        u[a + 6],
        u[a + 7],
        u[a + 8],
        u[a + 9],
        u[a + 10],
        u[a + 11],
      );
    default:
      throw new RangeError(`threadkit: an inline string of ${n} units`);
  }
}

/** A record taken out, to be decoded once the mutex is released (`decodeRecord`). */
export class RecordRef {
  constructor(
    readonly format: number,
    readonly view: number,
    readonly bytes: Uint8Array,
    readonly sabIds: number[],
    /** The chunk its bytes are in (0: the inline data area), where it counts alive until `finish`. */
    readonly chunk: number,
  ) {}
}

/** What `take` returns: a small value itself, or a record to decode. */
export type Taken = unknown;

const ME = runtime().ident;

/** Whether thread `ident` is gone for good (its Worker exited, or it died). */
function gone(ident: number): boolean {
  const s = statusOf(runtime().i32, ident);
  return (s & EXITED) !== 0 || (s & STATE_MASK) === State.Died;
}

// Arithmetic, not bit operations: a record can be 2 GiB or more.
const align8 = (n: number): number => Math.ceil(n / 8) * 8;
const align4 = (n: number): number => Math.ceil(n / 4) * 4;

/**
 * One thread's handle on a queue's storage. It caches the buffers the ids name; every method
 * reads the shared words afresh, since other threads change them between calls.
 */
export class QueueStore {
  readonly i32: Int32Array;
  readonly kind: number;
  /** The supervisor holds this queue's chunks and item buffers under this owner id. */
  readonly owner: number;
  /** Called before the first buffer is held for the queue (the queue then watches for its end). */
  onHold: (() => void) | undefined;
  readonly #f64: Float64Array;
  readonly #u16: Uint16Array;
  /** Buffers of the current index and chunk (and the last one read), by id. */
  #cache = new Map<number, { sab: SharedArrayBuffer; i32: Int32Array; f64: Float64Array }>();
  /** The last `GETS` this thread read: `PUTS - it` is at least the size (it only grows). */
  #getsSeen = 0;
  /** The last `PUTS` this thread read: `it - GETS` is at most the size (it only grows). */
  #putsSeen = 0;

  constructor(control: SharedArrayBuffer, owner: number) {
    this.i32 = new Int32Array(control);
    this.#f64 = new Float64Array(control);
    this.#u16 = new Uint16Array(control);
    this.kind = this.i32[KIND] as number;
    this.owner = owner;
  }

  /** Lays out a fresh control buffer. */
  static init(i32: Int32Array, kind: number, maxsize: number): void {
    i32[KIND] = kind;
    i32[MAXSIZE] = maxsize;
    i32[IDX_CAP] = INLINE_CAP;
    if (kind === PRIORITY) for (let k = 0; k < INLINE_CAP; k++) i32[INLINE_IDX + k] = k;
  }

  /** Whether puts and gets each hold both mutexes (they touch one end). */
  get bothEnds(): boolean {
    return this.kind !== FIFO;
  }

  size(): number {
    return (Atomics.load(this.i32, PUTS) - Atomics.load(this.i32, GETS)) >>> 0;
  }

  /**
   * Whether an item is there to take (get side held). The `PUTS` this thread saw last, if items
   * were left then, answers without reading `PUTS`: a word the producers keep writing, whose
   * cache line a read takes from their core.
   */
  hasItem(): boolean {
    const gets = this.i32[GETS] as number;
    if (((this.#putsSeen - gets) | 0) > 0) return true;
    this.#putsSeen = Atomics.load(this.i32, PUTS);
    return ((this.#putsSeen - gets) | 0) > 0;
  }

  unfinished(): number {
    return (Atomics.load(this.i32, PUTS) - Atomics.load(this.i32, DONE)) >>> 0;
  }

  /** Called by every new holder of a mutex: completes what a dead holder left published. */
  recover(): void {
    const i32 = this.i32;
    for (;;) {
      const j = Atomics.load(i32, JLEN);
      if (j === 0) return;
      const applier = -j;
      if (applier !== ME && !gone(applier)) {
        // Another thread is applying it now (it took the other mutex over): a few instructions.
        Atomics.wait(i32, JLEN, j, 1);
        continue;
      }
      if (Atomics.compareExchange(i32, JLEN, j, -ME) === j) {
        this.#applyJournal();
        return;
      }
    }
  }

  // ---- buffers by id ----------------------------------------------------------------------

  #buffer(id: number) {
    let b = this.#cache.get(id);
    if (b === undefined) b = this.#remember(id, resolveSabs([id])[0] as SharedArrayBuffer);
    return b;
  }

  /**
   * Caches buffer `id`. Keeps the buffers in use now and forgets the rest: the supervisor may have
   * let them go, and this thread's reference alone would keep their memory. That holds for the
   * buffers this thread made too (`#newBuffer`): a producer that made a burst's chunks, which its
   * consumers then let go, must not pin them for as long as it keeps the queue.
   */
  #remember(id: number, sab: SharedArrayBuffer) {
    const b = { sab, i32: new Int32Array(sab), f64: new Float64Array(sab, 0, Math.floor(sab.byteLength / 8)) };
    if (this.#cache.size >= 4 + SPARES) {
      const keep = new Set([this.i32[IDX_ID], this.i32[CHUNK_ID], this.i32[BIG_CHUNK_ID]]);
      for (let k = 0; k < SPARES; k++) keep.add(this.i32[SPARE + 2 * k]);
      for (const k of this.#cache.keys()) if (!keep.has(k)) this.#cache.delete(k);
    }
    this.#cache.set(id, b);
    return b;
  }

  /** The index as last seen (rebuilt when its id or capacity changed). */
  #ix: Index & { id: number } = {
    i32: new Int32Array(0),
    f64: new Float64Array(0),
    u16: new Uint16Array(0),
    base: 0,
    cap: 0,
    id: -1,
  };

  #index(): Index {
    const id = this.i32[IDX_ID] as number;
    const cap = this.i32[IDX_CAP] as number;
    const ix = this.#ix;
    if (ix.id === id && ix.cap === cap) return ix;
    if (id === 0) this.#ix = { i32: this.i32, f64: this.#f64, u16: this.#u16, base: INLINE_IDX, cap, id };
    else {
      const b = this.#buffer(id);
      this.#ix = { i32: b.i32, f64: b.f64, u16: new Uint16Array(b.sab), base: 0, cap, id };
    }
    return this.#ix;
  }

  #place(chunk: number): Place {
    if (chunk === 0) {
      return { sab: this.i32.buffer as SharedArrayBuffer, i32: this.i32, used: CHUNK_USED, live: CHUNK_LIVE };
    }
    const b = this.#buffer(chunk);
    return { sab: b.sab, i32: b.i32, used: 0, live: 1 };
  }

  #newBuffer(bytes: number): number {
    const sab = new SharedArrayBuffer(bytes);
    this.onHold?.();
    const id = holdSabs([sab], this.owner)[0] as number;
    this.#remember(id, sab);
    return id;
  }

  #release(id: number): void {
    this.#cache.delete(id);
    dropSabs([id], this.owner);
  }

  // ---- the journal ------------------------------------------------------------------------

  #journal: number[] = [];

  /** Queues a word write for `commit` (buffer id 0: the control buffer). */
  #write(id: number, index: number, value: number): void {
    this.#journal.push(id, index, value);
  }

  /** Publishes and applies the queued writes as one step. */
  #commit(): void {
    const j = this.#journal;
    const i32 = this.i32;
    if (j.length > 3 * JMAX) throw new RangeError('threadkit: queue journal overflow');
    if (j.length === 3) {
      // One word: its store is atomic by itself.
      this.#store(j[0] as number, j[1] as number, j[2] as number);
    } else if (j.length > 0) {
      for (let k = 0; k < j.length; k++) i32[J_BASE + k] = j[k] as number;
      Atomics.store(i32, J_COUNT, j.length / 3);
      Atomics.store(i32, JLEN, -ME);
      this.#applyJournal();
    }
    j.length = 0;
  }

  #applyJournal(): void {
    const i32 = this.i32;
    const n = Atomics.load(i32, J_COUNT);
    for (let k = 0; k < n; k++) {
      const at = J_BASE + 3 * k;
      this.#store(i32[at] as number, i32[at + 1] as number, i32[at + 2] as number);
    }
    Atomics.store(i32, JLEN, 0);
    Atomics.notify(i32, JLEN);
  }

  #store(id: number, index: number, value: number): void {
    Atomics.store(id === 0 ? this.i32 : this.#buffer(id).i32, index, value);
  }

  // ---- put (tail mutex; both for LIFO and PriorityQueue) ---------------------------------

  /**
   * At least the number of items: `PUTS` minus the last `GETS` this thread saw, which gets can
   * only have raised since. Reading `GETS` itself, a word the consumers keep writing, costs a
   * cache line taken from their core, so it is read only when the estimate is not good enough.
   */
  #sizeAtMost(): number {
    return ((this.i32[PUTS] as number) - this.#getsSeen) >>> 0;
  }

  #sizeNow(): number {
    this.#getsSeen = Atomics.load(this.i32, GETS);
    return ((this.i32[PUTS] as number) - this.#getsSeen) >>> 0;
  }

  /** Whether a put must wait: the queue holds `maxsize` items. */
  full(): boolean {
    const max = this.i32[MAXSIZE] as number;
    return max > 0 && this.#sizeAtMost() >= max && this.#sizeNow() >= max;
  }

  /** Whether a put needs the index grown first (the caller then holds both mutexes for `grow`). */
  needsRoom(): boolean {
    const cap = this.i32[IDX_CAP] as number;
    return this.#sizeAtMost() >= cap && this.#sizeNow() >= cap;
  }

  /**
   * Adds an item (the queue is not full, not shut down, has room). Its buffers (`sabIds`) are
   * already held for it. For a PriorityQueue, `key` is its sort key; a comparison that fails
   * throws `TypeError` before anything changed.
   */
  put(img: Image, sabIds: number[], key: Key | undefined): void {
    if (this.kind === PRIORITY) {
      // A record is compared by the key it stores (encoded once, at `put`), never by a decoded copy.
      if (img.tag === T_REC) img.key = encodeKey(img.key ?? key ?? STOPPED);
      this.#putPriority(img, sabIds, img.key ?? key ?? keyOf(img.tag === T_NUM ? img.num : img.str));
      return;
    }
    if (img.tag !== T_REC) {
      this.putSmall(img.tag, img.tag === T_NUM ? img.num : img.str);
      return;
    }
    const ix = this.#index();
    const puts = this.i32[PUTS] as number;
    const pos = this.kind === FIFO ? puts & (ix.cap - 1) : this.#sizeNow();
    this.#writeEntry(ix, ix.base + pos * ENTRY, img, sabIds, 0);
    Atomics.store(this.i32, PUTS, (puts + 1) | 0);
  }

  /**
   * Adds a value kept in its entry (`item.ts`: `tag` from `smallTag`) to a FIFO or LIFO queue
   * with room: the path of numbers and short strings, with no image made.
   */
  putSmall(tag: number, value: unknown): void {
    const ix = this.#index();
    const puts = this.i32[PUTS] as number;
    const at = ix.base + (this.kind === FIFO ? puts & (ix.cap - 1) : this.#sizeNow()) * ENTRY;
    const e = ix.i32;
    if (tag === T_NUM) ix.f64[(at + 2) >> 1] = value as number;
    else if (tag === T_STR) {
      const s = value as string;
      for (let k = 0; k < s.length; k += 2) e[at + 1 + (k >> 1)] = s.charCodeAt(k) | ((s.charCodeAt(k + 1) || 0) << 16);
      tag |= s.length << 8;
    }
    e[at] = tag;
    Atomics.store(this.i32, PUTS, (puts + 1) | 0);
  }

  #putPriority(img: Image, sabIds: number[], key: Key): void {
    const ix = this.#index();
    const size = this.#sizeNow();
    // Compare first: a TypeError must leave the queue as it was.
    const seq = this.i32[SEQ] as number;
    const path = this.#siftUpPath(ix, size, key, seq);
    const slot = ix.i32[ix.base + size] as number;
    this.#writeEntry(ix, this.#slotAt(ix, slot), img, sabIds, seq);
    // The slot moves into the heap along the path: each ancestor passed moves one level down.
    const id = this.i32[IDX_ID] as number;
    let hole = size;
    for (const parent of path) {
      this.#write(id, ix.base + hole, ix.i32[ix.base + parent] as number);
      hole = parent;
    }
    this.#write(id, ix.base + hole, slot);
    this.#write(0, SEQ, (seq + 1) | 0);
    this.#write(0, PUTS, ((this.i32[PUTS] as number) + 1) | 0);
    this.#commit();
  }

  /** The heap positions a new item at `size` rises through. */
  #siftUpPath(ix: Index, size: number, key: Key, seq: number): number[] {
    const path: number[] = [];
    let hole = size;
    while (hole > 0) {
      const parent = (hole - 1) >> 1;
      if (this.#order(key, seq, ix, ix.i32[ix.base + parent] as number) >= 0) break;
      path.push(parent);
      hole = parent;
    }
    return path;
  }

  /** Compares (key, seq) with the item in `slot`: -1, 0 or 1. */
  #order(key: Key, seq: number, ix: Index, slot: number): number {
    const other = this.#slotAt(ix, slot);
    const c = compare(key, this.#keyAt(ix, other));
    if (c !== 0) return c;
    const s = (seq - (ix.i32[other + 7] as number)) | 0;
    return s < 0 ? -1 : s > 0 ? 1 : 0;
  }

  #slotAt(ix: Index, slot: number): number {
    return ix.base + ix.cap + slot * ENTRY;
  }

  /** The sort key of the entry at word `at`: a record's is a view of its encoded bytes, compared in place. */
  #keyAt(ix: Index, at: number): Key {
    const tag = (ix.i32[at] as number) & 0xff;
    if (tag === T_NUM) return ix.f64[(at + 2) >> 1] as number;
    if (tag === T_STR) return this.#inlineString(ix, at);
    const keyLen = (ix.i32[at + 5] as number) >>> 0;
    if (tag !== T_REC || keyLen === 0) return STOPPED;
    return new Uint8Array(this.#place(ix.i32[at + 1] as number).sab, ix.i32[at + 2] as number, keyLen);
  }

  /** Writes an entry (and its record) at word `at` of the index. Invisible until published. */
  #writeEntry(ix: Index, at: number, img: Image, sabIds: number[], seq: number): void {
    const e = ix.i32;
    e[at + 7] = seq;
    switch (img.tag) {
      case T_NUM:
        ix.f64[(at + 2) >> 1] = img.num;
        e[at] = T_NUM;
        return;
      case T_STR: {
        const s = img.str;
        for (let k = 0; k < s.length; k += 2)
          e[at + 1 + (k >> 1)] = s.charCodeAt(k) | ((s.charCodeAt(k + 1) || 0) << 16);
        e[at] = T_STR | (s.length << 8);
        return;
      }
      case T_REC:
        break;
      default:
        e[at] = img.tag;
        return;
    }
    const key = img.key;
    const keyLen = key?.length ?? 0;
    const payload = img.payload as Uint8Array;
    const length = align4(keyLen) + 4 * sabIds.length + payload.length;
    if (length > MAX_RECORD) {
      throw argRangeError(
        `Expected \`item\` to take at most ${MAX_RECORD} bytes in a queue, got ${length} bytes` +
          (keyLen > 0 ? ` (${payload.length} of data, ${keyLen} of sort key)` : ''),
      );
    }
    const { chunk, offset, place } = this.#allocate(length);
    const u8 = new Uint8Array(place.sab);
    if (key !== undefined) u8.set(key, offset);
    const ids = align4(keyLen) + offset;
    for (let k = 0; k < sabIds.length; k++) place.i32[ids / 4 + k] = sabIds[k] as number;
    u8.set(payload, ids + 4 * sabIds.length);
    e[at + 1] = chunk;
    e[at + 2] = offset;
    e[at + 3] = length;
    e[at + 4] = img.format | (img.view << 8);
    e[at + 5] = keyLen;
    e[at + 6] = sabIds.length;
    e[at] = T_REC;
  }

  /**
   * Space for a record of `length` bytes, counted alive in its chunk: in the current chunk if it
   * fits, else a new chunk (a big record gets one of its own, retired at birth). Counted before
   * it is published, so a chunk is never let go while a record in it is visible.
   */
  #allocate(length: number): { chunk: number; offset: number; place: Place } {
    const need = align8(length);
    if (need > BIG_CHUNK_BYTES / 2) {
      const chunk = this.#takeSpare(CHUNK_HEADER + need) || this.#newBuffer(CHUNK_HEADER + need);
      const place = this.#place(chunk);
      place.i32[0] = CHUNK_HEADER + need;
      Atomics.store(place.i32, 1, (1 << 1) | 1);
      return { chunk, offset: CHUNK_HEADER, place };
    }
    return need > BIG_RECORD
      ? this.#append(BIG_CHUNK_ID, BIG_CHUNK_BYTES, need)
      : this.#append(CHUNK_ID, CHUNK_BYTES, need);
  }

  /**
   * Appends `need` bytes to the current chunk named by control word `current` (0 there: the
   * inline data area, for small records), starting a new chunk of `bytes` when it is full; the
   * old one is retired, and let go (or kept spare) when its last record is.
   */
  #append(current: number, bytes: number, need: number): { chunk: number; offset: number; place: Place } {
    let chunk = this.i32[current] as number;
    const inline = chunk === 0 && current === CHUNK_ID;
    let place = chunk === 0 && !inline ? undefined : this.#place(chunk);
    const start = inline ? INLINE_DATA * 4 : CHUNK_HEADER;
    const capacity = inline ? INLINE_DATA * 4 + INLINE_DATA_BYTES : (place?.sab.byteLength ?? 0);
    // Nothing alive in the current chunk (only this side adds): start it over.
    let used =
      place === undefined
        ? capacity
        : Atomics.load(place.i32, place.live) === 0
          ? start
          : Math.max(place.i32[place.used] as number, start);
    if (place === undefined || used + need > capacity) {
      const old = inline ? 0 : chunk;
      const oldPlace = place;
      chunk = this.#takeSpare(bytes) || this.#newBuffer(bytes);
      place = this.#place(chunk);
      Atomics.store(place.i32, place.live, 0);
      Atomics.store(this.i32, current, chunk);
      if (old !== 0 && oldPlace !== undefined && Atomics.or(oldPlace.i32, oldPlace.live, 1) === 0) {
        this.#spareOrRelease(old, oldPlace.sab.byteLength);
      }
      used = CHUNK_HEADER;
    }
    place.i32[place.used] = used + need;
    Atomics.add(place.i32, place.live, 2);
    return { chunk, offset: used, place };
  }

  /** Grows the index to twice its capacity. Both mutexes. */
  grow(): void {
    const ix = this.#index();
    const size = this.#sizeNow();
    const cap = ix.cap * 2;
    const id = this.#newBuffer(indexWords(cap) * 4);
    const to = this.#buffer(id).i32;
    if (this.kind === PRIORITY) {
      for (let k = 0; k < ix.cap; k++) to[k] = ix.i32[ix.base + k] as number;
      for (let k = ix.cap; k < cap; k++) to[k] = k;
      to.set(ix.i32.subarray(ix.base + ix.cap, ix.base + ix.cap + ix.cap * ENTRY), cap);
    } else if (this.kind === FIFO) {
      const gets = this.i32[GETS] as number;
      for (let k = 0; k < size; k++) {
        const s = (gets + k) | 0;
        const from = ix.base + (s & (ix.cap - 1)) * ENTRY;
        to.set(ix.i32.subarray(from, from + ENTRY), (s & (cap - 1)) * ENTRY);
      }
    } else {
      to.set(ix.i32.subarray(ix.base, ix.base + size * ENTRY), 0);
    }
    const old = this.i32[IDX_ID] as number;
    this.#write(0, IDX_ID, id);
    this.#write(0, IDX_CAP, cap);
    this.#commit();
    if (old !== 0) this.#release(old);
  }

  // ---- get (head mutex; both for LIFO and PriorityQueue) ---------------------------------

  /**
   * Takes the next item out (the queue is not empty). A small value comes back itself, a record
   * as a `RecordRef`: decode it with `decodeRecord` after unlocking.
   */
  take(): Taken {
    const ix = this.#index();
    const gets = this.i32[GETS] as number;
    if (this.kind === PRIORITY) {
      const size = this.size();
      const root = ix.i32[ix.base] as number;
      const at = this.#slotAt(ix, root);
      // Compare first: a TypeError must leave the queue as it was.
      const moves = this.#siftDownMoves(ix, size);
      const taken = this.#readEntry(ix, at);
      const id = this.i32[IDX_ID] as number;
      for (const [pos, slot] of moves) this.#write(id, ix.base + pos, slot);
      this.#write(id, ix.base + size - 1, root);
      this.#write(0, GETS, (gets + 1) | 0);
      this.#commit();
      return taken;
    }
    const at = ix.base + (this.kind === FIFO ? gets & (ix.cap - 1) : this.size() - 1) * ENTRY;
    const taken = this.#readEntry(ix, at);
    Atomics.store(this.i32, GETS, (gets + 1) | 0);
    return taken;
  }

  /** The heap moves that remove the root of a heap of `size`: [position, slot], the last slot's place included. */
  #siftDownMoves(ix: Index, size: number): [number, number][] {
    const moves: [number, number][] = [];
    const n = size - 1;
    if (n === 0) return moves;
    const last = ix.i32[ix.base + n] as number;
    const lastAt = this.#slotAt(ix, last);
    const lastKey = this.#keyAt(ix, lastAt);
    const lastSeq = ix.i32[lastAt + 7] as number;
    let hole = 0;
    for (;;) {
      let child = 2 * hole + 1;
      if (child >= n) break;
      const right = child + 1;
      if (right < n) {
        const lAt = this.#slotAt(ix, ix.i32[ix.base + child] as number);
        if (this.#order(this.#keyAt(ix, lAt), ix.i32[lAt + 7] as number, ix, ix.i32[ix.base + right] as number) > 0) {
          child = right;
        }
      }
      const c = ix.i32[ix.base + child] as number;
      if (this.#order(lastKey, lastSeq, ix, c) <= 0) break;
      moves.push([hole, c]);
      hole = child;
    }
    moves.push([hole, last]);
    return moves;
  }

  /** Reads an entry: a small value decoded, a record copied out (or borrowed, if its chunk is its own). */
  #readEntry(ix: Index, at: number): Taken {
    const e = ix.i32;
    switch ((e[at] as number) & 0xff) {
      case T_NUM:
        return ix.f64[(at + 2) >> 1];
      case T_STR:
        return this.#inlineString(ix, at);
      case T_UNDEF:
        return undefined;
      case T_NULL:
        return null;
      case T_FALSE:
        return false;
      case T_TRUE:
        return true;
    }
    const place = this.#place(e[at + 1] as number);
    const offset = e[at + 2] as number;
    const keyLen = align4((e[at + 5] as number) >>> 0);
    const nSabs = e[at + 6] as number;
    const sabIds: number[] = [];
    for (let k = 0; k < nSabs; k++) sabIds.push(place.i32[(offset + keyLen) / 4 + k] as number);
    const start = offset + keyLen + 4 * nSabs;
    const end = offset + ((e[at + 3] as number) >>> 0);
    // Read in place after the mutex is released: the record stays counted alive in its chunk
    // until `finish`, so nothing reuses its space meanwhile (a big record is not copied twice).
    const bytes = new Uint8Array(place.sab, start, end - start);
    return new RecordRef((e[at + 4] as number) & 0xff, (e[at + 4] as number) >>> 8, bytes, sabIds, e[at + 1] as number);
  }

  #inlineString(ix: Index, at: number): string {
    return shortString(ix.u16, 2 * at + 2, (ix.i32[at] as number) >>> 8);
  }

  /** After the item at word `at` left: its record is no longer alive in its chunk. */
  #freeEntry(ix: Index, at: number): void {
    if (((ix.i32[at] as number) & 0xff) === T_REC) this.#unlive(ix.i32[at + 1] as number);
  }

  /** One record fewer alive in `chunk`: the last of a retired chunk lets it go (or keeps it spare). */
  #unlive(chunk: number): void {
    const place = this.#place(chunk);
    if (Atomics.sub(place.i32, place.live, 2) === 3 && chunk !== 0) this.#spareOrRelease(chunk, place.sab.byteLength);
  }

  /** Called once a record `take` returned is decoded: its space may be reused. No mutex needed. */
  finish(ref: RecordRef): void {
    this.#unlive(ref.chunk);
  }

  /**
   * Keeps an emptied chunk for the next big record if it is not too big and a spare slot is free
   * (each slot is claimed by CAS: puts take spares, gets give them back, on either mutex or
   * none), else lets it go. A stream of big items then reuses a few chunks, which the other
   * threads already know, instead of making a buffer and a round trip to the supervisor each.
   */
  #spareOrRelease(chunk: number, bytes: number): void {
    if (bytes <= SPARE_BYTES && Atomics.load(this.i32, SHUT) === 0) {
      for (let k = 0; k < SPARES; k++) {
        const at = SPARE + 2 * k;
        if (Atomics.load(this.i32, at) !== 0) continue;
        Atomics.store(this.i32, at + 1, bytes);
        if (Atomics.compareExchange(this.i32, at, 0, chunk) === 0) return;
      }
    }
    this.#release(chunk);
  }

  /** A spare chunk of at least `bytes` (and not wastefully bigger), claimed; 0 if none. */
  #takeSpare(bytes: number): number {
    for (let k = 0; k < SPARES; k++) {
      const at = SPARE + 2 * k;
      const chunk = Atomics.load(this.i32, at);
      if (chunk === 0) continue;
      const size = Atomics.load(this.i32, at + 1);
      if (size < bytes || size > 2 * bytes) continue;
      if (Atomics.compareExchange(this.i32, at, chunk, 0) !== chunk) continue;
      // The size word is only a hint: two threads freeing chunks at once (consumers finish without
      // a mutex) both write it before one of them wins the slot, so a 64 KiB chunk can sit there
      // labelled 8 MiB, and records written past its end would fail every later put.
      const real = this.#place(chunk).sab.byteLength;
      if (real >= bytes && real <= 2 * bytes) return chunk;
      this.#spareOrRelease(chunk, real);
    }
    return 0;
  }

  /** Lets every spare chunk go (a queue shut down and emptied). */
  #releaseSpares(): void {
    for (let k = 0; k < SPARES; k++) {
      const chunk = Atomics.exchange(this.i32, SPARE + 2 * k, 0);
      if (chunk !== 0) this.#release(chunk);
    }
  }

  /**
   * Empty: gives back what a burst took. An index of up to `RETAIN_CAP` entries and the current
   * small-record chunk are kept (`all`: given back too), so that a steady stream whose queue
   * keeps draining does not make and let go of buffers every time (each costs the other threads
   * a round trip to the supervisor). Both mutexes; does nothing unless the queue is empty.
   */
  shrink(all = false): void {
    if (this.size() !== 0) return;
    this.#releaseSpares();
    const idx = this.i32[IDX_ID] as number;
    const chunk = all ? (this.i32[CHUNK_ID] as number) : 0;
    const big = this.i32[BIG_CHUNK_ID] as number;
    const dropIndex = idx !== 0 && (all || (this.i32[IDX_CAP] as number) > RETAIN_CAP);
    if (!dropIndex && chunk === 0 && big === 0) return;
    if (dropIndex) {
      this.#write(0, IDX_ID, 0);
      this.#write(0, IDX_CAP, INLINE_CAP);
      if (this.kind === PRIORITY) for (let k = 0; k < INLINE_CAP; k++) this.#write(0, INLINE_IDX + k, k);
    }
    if (chunk !== 0) this.#write(0, CHUNK_ID, 0);
    if (big !== 0) this.#write(0, BIG_CHUNK_ID, 0);
    this.#commit();
    if (dropIndex) this.#release(idx);
    for (const c of [chunk, big]) {
      if (c === 0) continue;
      const place = this.#place(c);
      if (Atomics.or(place.i32, place.live, 1) === 0) this.#release(c);
    }
  }

  /** Whether the index grew beyond what a drained queue keeps (it then `shrink`s). */
  grown(): boolean {
    return (this.i32[IDX_CAP] as number) > RETAIN_CAP;
  }

  /**
   * Discards every item (`shutdown({ immediate: true })`), counting each as done (down to no
   * unfinished task, not below). Returns the ids of the buffers the items held, for the caller to
   * let go. Both mutexes.
   */
  discardAll(): number[] {
    const size = this.size();
    if (size === 0) return [];
    const ix = this.#index();
    const held: number[] = [];
    const entries: number[] = [];
    const gets = this.i32[GETS] as number;
    for (let k = 0; k < size; k++) {
      let at: number;
      if (this.kind === PRIORITY) at = this.#slotAt(ix, ix.i32[ix.base + k] as number);
      else at = ix.base + (this.kind === FIFO ? (gets + k) & (ix.cap - 1) : k) * ENTRY;
      if (((ix.i32[at] as number) & 0xff) !== T_REC) continue;
      entries.push(at);
      const place = this.#place(ix.i32[at + 1] as number);
      const ids = (ix.i32[at + 2] as number) + align4((ix.i32[at + 5] as number) >>> 0);
      for (let j = 0; j < (ix.i32[at + 6] as number); j++) held.push(place.i32[ids / 4 + j] as number);
    }
    // Each discarded item counts as done only while tasks are unfinished, as Python's
    // `if self.unfinished_tasks > 0`: items marked done before they were got (`taskDone` counts
    // puts, not gets) must not drive the count below zero, where it would wrap and hang `join`.
    this.#write(0, DONE, ((this.i32[DONE] as number) + Math.min(size, this.unfinished())) | 0);
    this.#write(0, GETS, (this.i32[PUTS] as number) | 0);
    this.#commit();
    for (const at of entries) this.#freeEntry(ix, at);
    this.shrink(true);
    return held;
  }

  /** Marks one task done; `RangeError` if none is unfinished. Head mutex. */
  taskDone(): void {
    if (this.unfinished() === 0) throw argRangeError('task_done() called too many times');
    Atomics.store(this.i32, DONE, ((this.i32[DONE] as number) + 1) | 0);
  }
}

/** Decodes a record `take` returned (after the mutex is released). */
export function decodeRecord(t: RecordRef): unknown {
  switch (t.format) {
    case F_STR16:
      return stringOf(t.bytes);
    case F_VIEW:
      return viewOf(t.view, t.bytes);
    case F_V8:
      return recordValue(t.bytes, resolveSabs(t.sabIds));
    default:
      throw new TypeError(`threadkit: unknown queue record format ${t.format}`);
  }
}
