/**
 * The storage engine of every queue kind: items in shared memory, in FIFO, LIFO or priority
 * order. It knows nothing of waiting or of who may call it: every method expects the caller to
 * hold the queue's mutex (`queue.ts`), and none of them waits.
 *
 * ## Memory
 *
 * One small fixed buffer per queue, the *control* buffer (`CONTROL_WORDS` Int32 words), holds the
 * counters, an inline *index* of `INLINE_CAP` entries and an inline data area of
 * `INLINE_DATA_BYTES`. A burst grows the index into a buffer of its own (twice the size each
 * time), and records that do not fit go to *chunks*: plain SharedArrayBuffers of `CHUNK_BYTES`,
 * or one of exactly its size for a big record. Both are carried by id (`wire/sabs.ts`), held by
 * the supervisor on behalf of the queue, and given back when the queue drains: a burst does not
 * pin memory for the queue's lifetime.
 *
 * Control words (after the primitive header), and who writes them:
 * - `MUTEX`: the queue's mutex (`shared/mutex.ts`).
 * - `KIND`, `MAXSIZE`: constant.
 * - `PUTS`, `GETS`, `DONE`: how many items were ever put, taken, and marked done (or discarded),
 *   as wrapping 32-bit counters: `qsize = PUTS - GETS`, unfinished tasks `= PUTS - DONE`.
 * - `SHUT`: 1 once shut down.
 * - `GETTERS`, `PUTTERS`, `JOINERS`: waits that may be sleeping (so a change notifies only when
 *   someone may listen); `PUT_EV`, `GET_EV`, `DONE_EV`: bumped by every put, get and task done
 *   (and by shutdown): getters, putters and joiners sleep on them.
 * - `IDX_ID`, `IDX_CAP`: the index buffer's id (0: the inline index) and capacity.
 * - `CHUNK_ID`: the chunk records are appended to (0: the inline data area).
 * - `SEQ`: PriorityQueue insertion counter (ties leave in insertion order).
 * - `QREFS`: Queue objects alive in any thread plus encodings in transit (`queue.ts`).
 * - `JLEN` and the journal: see below.
 * - `WHO_*`: which threads wait, for `util.inspect` (`sync/waiters.ts`).
 * - `DATA_USED`, `DATA_LIVE`: the inline data area's chunk header (a chunk's own are its first
 *   two words: bytes used, records alive).
 *
 * An index entry is 8 words: `[tag | aux << 8, w1 … w6, seq]`. A number is a float64 in words 2-3;
 * a short string its UTF-16 units in words 1-6; a record (`item.ts`) is `[chunk id, byte offset,
 * byte length, format | view << 8, key length, sab count]`. FIFO and LIFO entries sit in the index
 * in order: item number `s` (counting puts) at `s mod capacity` for FIFO, the stack for LIFO.
 * A PriorityQueue index is `capacity` words of *slot numbers* followed by `capacity` entries: the
 * first `qsize` words are a binary heap of the slots in use, the rest the free slots, so the
 * array is always a permutation and an item never moves, only its slot number does.
 *
 * ## Dying in the middle
 *
 * A thread can be terminated at any instruction, also while it holds the mutex. Every operation
 * therefore prepares what is invisible first (entry and record bytes in free space) and then
 * publishes it in one atomic step: a FIFO or LIFO put is visible once `PUTS` is stored, a get
 * once `GETS` is. An operation that must change several words (a heap's sift, growing the index,
 * the reset after draining, discarding everything) writes the new values into the journal,
 * publishes them by storing `JLEN`, applies them and clears `JLEN`. The next holder (which took
 * the mutex over from the dead one) finds `JLEN` set and applies the journal again: applying is
 * idempotent. So a dead holder's half-done step is either invisible or completed. What it can
 * leave behind is memory: a record's space, a chunk counted alive; all of it is reclaimed when
 * the queue drains, or when it is dropped.
 */
import { argRangeError } from '../errors.js';
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
  valueOf,
  viewOf,
} from './item.js';
import { compare, decodeKey, type Key, keyOf } from './priority.js';

// ---- layout --------------------------------------------------------------------------------

/** Primitive header: uid (2 words, `sync/primitive.ts`). */
const FIRST = 2;
export const MUTEX = FIRST;
export const KIND = FIRST + 1;
export const MAXSIZE = FIRST + 2;
export const PUTS = FIRST + 3;
export const GETS = FIRST + 4;
export const DONE = FIRST + 5;
export const SHUT = FIRST + 6;
export const GETTERS = FIRST + 7;
export const PUTTERS = FIRST + 8;
export const JOINERS = FIRST + 9;
export const PUT_EV = FIRST + 10;
export const GET_EV = FIRST + 11;
export const DONE_EV = FIRST + 12;
const IDX_ID = FIRST + 13;
const IDX_CAP = FIRST + 14;
const CHUNK_ID = FIRST + 15;
const SEQ = FIRST + 16;
export const QREFS = FIRST + 17;
const JLEN = FIRST + 18;
const J_BASE = FIRST + 19;
const JMAX = 48;
export const WHO_GET = J_BASE + 3 * JMAX;
export const WHO_PUT = WHO_GET + WAITER_WORDS;
export const WHO_JOIN = WHO_PUT + WAITER_WORDS;
const DATA_USED = WHO_JOIN + WAITER_WORDS;
const DATA_LIVE = DATA_USED + 1;
/** Word offset of the inline index (even: entries hold float64s). */
const INLINE_IDX = (DATA_LIVE + 2) & ~1;
const INLINE_CAP = 16;
const ENTRY = 8;
/** Words an index of `cap` entries takes (slot numbers, then entries). */
const indexWords = (cap: number): number => cap * (ENTRY + 1);
const INLINE_DATA = INLINE_IDX + indexWords(INLINE_CAP);
const INLINE_DATA_BYTES = 1024;
export const CONTROL_WORDS = INLINE_DATA + INLINE_DATA_BYTES / 4;

/** Chunk size, and the record size above which a record gets a chunk of its own. */
const CHUNK_BYTES = 64 * 1024;
const BIG_RECORD = CHUNK_BYTES / 2;
/** A chunk's header: bytes used, records alive (2 words; records start 8-byte aligned). */
const CHUNK_HEADER = 8;

export const FIFO = 0;
export const LIFO = 1;
export const PRIORITY = 2;

/** Where a record's bytes are: a buffer, the byte offset of its chunk's header, its own offset. */
interface Place {
  sab: SharedArrayBuffer;
  /** Word index of the chunk header's USED word (LIVE follows). */
  header: number;
  i32: Int32Array;
}

/** The index: its words, its float64 view, the word offset of its start, its capacity. */
interface Index {
  i32: Int32Array;
  f64: Float64Array;
  base: number;
  cap: number;
}

/** An item taken out, to be decoded once the mutex is released. */
export type Taken = { value: unknown } | { format: number; view: number; bytes: Uint8Array; sabIds: number[] };

const align8 = (n: number): number => (n + 7) & ~7;
const align4 = (n: number): number => (n + 3) & ~3;

/**
 * One thread's handle on a queue's storage. It caches the buffers the ids name; every method
 * reads the shared words afresh, since other threads change them between calls.
 */
export class QueueStore {
  readonly i32: Int32Array;
  readonly kind: number;
  /** The supervisor holds this queue's chunks and item buffers under this owner id. */
  readonly owner: number;
  readonly #f64: Float64Array;
  readonly #u8: Uint8Array;
  /** Buffers of the current index and chunk (and the last one read), by id. */
  #cache = new Map<number, { sab: SharedArrayBuffer; i32: Int32Array; f64: Float64Array; u8: Uint8Array }>();

  constructor(control: SharedArrayBuffer, owner: number) {
    this.i32 = new Int32Array(control);
    this.#f64 = new Float64Array(control);
    this.#u8 = new Uint8Array(control);
    this.kind = this.i32[KIND] as number;
    this.owner = owner;
  }

  /** Lays out a fresh control buffer. */
  static init(i32: Int32Array, kind: number, maxsize: number): void {
    i32[KIND] = kind;
    i32[MAXSIZE] = maxsize;
    i32[IDX_CAP] = INLINE_CAP;
    i32[QREFS] = 1;
    if (kind === PRIORITY) for (let k = 0; k < INLINE_CAP; k++) i32[INLINE_IDX + k] = k;
  }

  size(): number {
    return (Atomics.load(this.i32, PUTS) - Atomics.load(this.i32, GETS)) >>> 0;
  }

  unfinished(): number {
    return (Atomics.load(this.i32, PUTS) - Atomics.load(this.i32, DONE)) >>> 0;
  }

  /** Called by every new holder of the mutex: completes what a dead holder left published. */
  recover(): void {
    if (Atomics.load(this.i32, JLEN) !== 0) this.#applyJournal();
  }

  // ---- buffers by id ----------------------------------------------------------------------

  #buffer(id: number) {
    let b = this.#cache.get(id);
    if (b === undefined) {
      const sab = resolveSabs([id])[0] as SharedArrayBuffer;
      b = {
        sab,
        i32: new Int32Array(sab),
        f64: new Float64Array(sab, 0, sab.byteLength >> 3),
        u8: new Uint8Array(sab),
      };
      // Keep the buffers in use now; forget the rest (the supervisor may have let them go).
      if (this.#cache.size >= 4) {
        const keep = new Set([this.i32[IDX_ID], this.i32[CHUNK_ID]]);
        for (const k of this.#cache.keys()) if (!keep.has(k)) this.#cache.delete(k);
      }
      this.#cache.set(id, b);
    }
    return b;
  }

  /** The index: its words, its float64 view, the word offset of its start, its capacity. */
  #index(): Index {
    const id = this.i32[IDX_ID] as number;
    const cap = this.i32[IDX_CAP] as number;
    if (id === 0) return { i32: this.i32, f64: this.#f64, base: INLINE_IDX, cap };
    const b = this.#buffer(id);
    return { i32: b.i32, f64: b.f64, base: 0, cap };
  }

  #place(chunk: number): Place {
    if (chunk === 0) return { sab: this.i32.buffer as SharedArrayBuffer, header: DATA_USED, i32: this.i32 };
    const b = this.#buffer(chunk);
    return { sab: b.sab, header: 0, i32: b.i32 };
  }

  #newBuffer(bytes: number): number {
    const sab = new SharedArrayBuffer(bytes);
    const [id] = holdSabs([sab], this.owner);
    const i32 = new Int32Array(sab);
    this.#cache.set(id as number, { sab, i32, f64: new Float64Array(sab, 0, bytes >> 3), u8: new Uint8Array(sab) });
    return id as number;
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
      Atomics.store(i32, JLEN, j.length / 3);
      this.#applyJournal();
    }
    j.length = 0;
  }

  #applyJournal(): void {
    const i32 = this.i32;
    const n = Atomics.load(i32, JLEN);
    for (let k = 0; k < n; k++) {
      const at = J_BASE + 3 * k;
      this.#store(i32[at] as number, i32[at + 1] as number, i32[at + 2] as number);
    }
    Atomics.store(i32, JLEN, 0);
  }

  #store(id: number, index: number, value: number): void {
    Atomics.store(id === 0 ? this.i32 : this.#buffer(id).i32, index, value);
  }

  // ---- put --------------------------------------------------------------------------------

  /** Whether a put must wait: the queue holds `maxsize` items. */
  full(): boolean {
    const max = this.i32[MAXSIZE] as number;
    return max > 0 && this.size() >= max;
  }

  /**
   * Adds an item (the queue is not full, not shut down). Its buffers (`sabIds`) are already
   * held for it. For a PriorityQueue, `key` is its sort key; a comparison that fails throws
   * `TypeError` before anything changed.
   */
  put(img: Image, sabIds: number[], key: Key | undefined): void {
    const size = this.size();
    if (size >= 0x7fff_fff0) throw argRangeError('threadkit: a queue holds at most 2**31 items');
    if (this.kind === PRIORITY) {
      this.#putPriority(img, sabIds, key ?? keyOf(img.tag === T_NUM ? img.num : img.str), size);
      return;
    }
    let ix = this.#index();
    if (size >= ix.cap) ix = this.#grow(ix, size);
    const puts = this.i32[PUTS] as number;
    const pos = this.kind === FIFO ? puts & (ix.cap - 1) : size;
    this.#writeEntry(ix, ix.base + pos * ENTRY, img, sabIds, 0);
    Atomics.store(this.i32, PUTS, (puts + 1) | 0);
  }

  #putPriority(img: Image, sabIds: number[], key: Key, size: number): void {
    let ix = this.#index();
    // Compare first: a TypeError must leave the queue as it was.
    const seq = this.i32[SEQ] as number;
    const path = this.#siftUpPath(ix, size, key, seq);
    if (size >= ix.cap) ix = this.#grow(ix, size);
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

  /** The heap positions a new item at `size` rises through (its final place is the last). */
  #siftUpPath(ix: Index, size: number, key: Key, seq: number): number[] {
    const path: number[] = [];
    let hole = size;
    while (hole > 0) {
      const parent = (hole - 1) >> 1;
      if (this.#less(key, seq, ix, ix.i32[ix.base + parent] as number) >= 0) break;
      path.push(parent);
      hole = parent;
    }
    return path;
  }

  /** Compares (key, seq) with the item in `slot`: -1, 0 or 1. */
  #less(key: Key, seq: number, ix: Index, slot: number): number {
    const other = this.#slotAt(ix, slot);
    const c = compare(key, this.#keyAt(ix, other));
    if (c !== 0) return c;
    const s = (seq - (ix.i32[other + 7] as number)) | 0;
    return s < 0 ? -1 : s > 0 ? 1 : 0;
  }

  #slotAt(ix: Index, slot: number): number {
    return ix.base + ix.cap + slot * ENTRY;
  }

  /** The sort key of the entry at word `at`. */
  #keyAt(ix: Index, at: number): Key {
    const tag = (ix.i32[at] as number) & 0xff;
    if (tag === T_NUM) return ix.f64[(at + 2) >> 1] as number;
    if (tag === T_STR) return this.#inlineString(ix.i32, at);
    if (tag !== T_REC || ix.i32[at + 5] === 0) return keyOf(undefined);
    const place = this.#place(ix.i32[at + 1] as number);
    return decodeKey(new Uint8Array(place.sab, ix.i32[at + 2] as number, ix.i32[at + 5] as number));
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
    const { chunk, offset, place } = this.#allocate(length);
    const u8 = new Uint8Array(place.sab);
    if (key !== undefined) u8.set(key, offset);
    const ids = align4(keyLen) + offset;
    for (let k = 0; k < sabIds.length; k++) place.i32[(ids >> 2) + k] = sabIds[k] as number;
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
   * fits, else a new chunk (a big record gets one of its own). Counted before it is published,
   * so a chunk is never let go while a record in it is visible.
   */
  #allocate(length: number): { chunk: number; offset: number; place: Place } {
    const need = align8(length);
    if (need > BIG_RECORD) {
      const chunk = this.#newBuffer(CHUNK_HEADER + need);
      const place = this.#place(chunk);
      place.i32[0] = CHUNK_HEADER + need;
      place.i32[1] = 1;
      return { chunk, offset: CHUNK_HEADER, place };
    }
    let chunk = this.i32[CHUNK_ID] as number;
    let place = this.#place(chunk);
    const capacity = chunk === 0 ? INLINE_DATA * 4 + INLINE_DATA_BYTES : place.sab.byteLength;
    const start = chunk === 0 ? INLINE_DATA * 4 : CHUNK_HEADER;
    let used = Math.max(place.i32[place.header] as number, start);
    if (used + need > capacity) {
      const old = chunk;
      const oldAlive = place.i32[place.header + 1] as number;
      chunk = this.#newBuffer(CHUNK_BYTES);
      Atomics.store(this.i32, CHUNK_ID, chunk);
      if (old !== 0 && oldAlive === 0) this.#release(old);
      place = this.#place(chunk);
      used = CHUNK_HEADER;
    }
    place.i32[place.header] = used + need;
    place.i32[place.header + 1] = (place.i32[place.header + 1] as number) + 1;
    return { chunk, offset: used, place };
  }

  /** Grows the index to twice its capacity (the queue holds `size` items). */
  #grow(ix: Index, size: number): Index {
    const cap = ix.cap * 2;
    const id = this.#newBuffer(indexWords(cap) * 4);
    const next = this.#buffer(id);
    const to = next.i32;
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
    return this.#index();
  }

  // ---- get --------------------------------------------------------------------------------

  /** Takes the next item out (the queue is not empty). Decode it with `decodeTaken` after unlocking. */
  take(): Taken {
    const size = this.size();
    const ix = this.#index();
    const gets = this.i32[GETS] as number;
    let at: number;
    if (this.kind === PRIORITY) {
      const root = ix.i32[ix.base] as number;
      at = this.#slotAt(ix, root);
      // Compare first: a TypeError must leave the queue as it was.
      const moves = this.#siftDownMoves(ix, size);
      const taken = this.#readEntry(ix, at);
      const id = this.i32[IDX_ID] as number;
      for (const [pos, slot] of moves) this.#write(id, ix.base + pos, slot);
      this.#write(id, ix.base + size - 1, root);
      this.#write(0, GETS, (gets + 1) | 0);
      this.#commit();
      this.#afterTake(ix, at, size);
      return taken;
    }
    at = ix.base + (this.kind === FIFO ? gets & (ix.cap - 1) : size - 1) * ENTRY;
    const taken = this.#readEntry(ix, at);
    Atomics.store(this.i32, GETS, (gets + 1) | 0);
    this.#afterTake(ix, at, size);
    return taken;
  }

  /**
   * The heap moves that remove the root of a heap of `size`: the last slot sinks from the root.
   * Returns [position, slot] writes, the last slot's final place included.
   */
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
        const l = ix.i32[ix.base + child] as number;
        const lAt = this.#slotAt(ix, l);
        if (this.#less(this.#keyAt(ix, lAt), ix.i32[lAt + 7] as number, ix, ix.i32[ix.base + right] as number) > 0) {
          child = right;
        }
      }
      const c = ix.i32[ix.base + child] as number;
      if (this.#less(lastKey, lastSeq, ix, c) <= 0) break;
      moves.push([hole, c]);
      hole = child;
    }
    moves.push([hole, last]);
    return moves;
  }

  /** Reads an entry: a small value decoded, a record copied out (or borrowed, if its chunk is its own). */
  #readEntry(ix: Index, at: number): Taken {
    const e = ix.i32;
    const word = e[at] as number;
    switch (word & 0xff) {
      case T_NUM:
        return { value: ix.f64[(at + 2) >> 1] };
      case T_STR:
        return { value: this.#inlineString(e, at) };
      case T_UNDEF:
        return { value: undefined };
      case T_NULL:
        return { value: null };
      case T_FALSE:
        return { value: false };
      case T_TRUE:
        return { value: true };
    }
    const place = this.#place(e[at + 1] as number);
    const offset = e[at + 2] as number;
    const keyLen = align4(e[at + 5] as number);
    const nSabs = e[at + 6] as number;
    const sabIds: number[] = [];
    for (let k = 0; k < nSabs; k++) sabIds.push(place.i32[((offset + keyLen) >> 2) + k] as number);
    const start = offset + keyLen + 4 * nSabs;
    const end = offset + (e[at + 3] as number);
    const own = place.header === 0 && (place.i32[1] as number) === 1 && e[at + 1] !== this.i32[CHUNK_ID];
    // A record alone in its chunk is read in place after the mutex is released (the chunk is
    // let go only after that); any other is copied out now, before its space can be reused.
    const bytes = own ? new Uint8Array(place.sab, start, end - start) : new Uint8Array(place.sab).slice(start, end);
    return { format: (e[at + 4] as number) & 0xff, view: (e[at + 4] as number) >>> 8, bytes, sabIds };
  }

  #inlineString(e: Int32Array, at: number): string {
    const n = (e[at] as number) >>> 8;
    let s = '';
    for (let k = 0; k < n; k++) {
      const w = e[at + 1 + (k >> 1)] as number;
      s += String.fromCharCode(k & 1 ? w >>> 16 : w & 0xffff);
    }
    return s;
  }

  /** After an item at word `at` left: its record is let go, and a drained queue shrinks back. */
  #afterTake(ix: Index, at: number, size: number): void {
    if (((ix.i32[at] as number) & 0xff) === T_REC) this.#freeRecord(ix.i32[at + 1] as number);
    if (size === 1) this.#shrink();
  }

  #freeRecord(chunk: number): void {
    const place = this.#place(chunk);
    const alive = (place.i32[place.header + 1] as number) - 1;
    place.i32[place.header + 1] = alive;
    if (alive > 0) return;
    if (chunk === 0 || chunk === this.i32[CHUNK_ID]) place.i32[place.header] = 0;
    else this.#release(chunk);
  }

  /** Empty: back to the inline index and data area, every buffer given back. */
  #shrink(): void {
    const idx = this.i32[IDX_ID] as number;
    const chunk = this.i32[CHUNK_ID] as number;
    if (idx === 0 && chunk === 0 && this.i32[IDX_CAP] === INLINE_CAP) {
      this.i32[DATA_USED] = 0;
      this.i32[DATA_LIVE] = 0;
      return;
    }
    this.#write(0, IDX_ID, 0);
    this.#write(0, IDX_CAP, INLINE_CAP);
    this.#write(0, CHUNK_ID, 0);
    this.#write(0, DATA_USED, 0);
    this.#write(0, DATA_LIVE, 0);
    if (this.kind === PRIORITY) for (let k = 0; k < INLINE_CAP; k++) this.#write(0, INLINE_IDX + k, k);
    this.#commit();
    if (idx !== 0) this.#release(idx);
    if (chunk !== 0) this.#release(chunk);
  }

  /**
   * Discards every item (`shutdown({ immediate: true })`), counting each as done. Returns the ids
   * of the buffers the items held, for the caller to let go.
   */
  discardAll(): number[] {
    const size = this.size();
    if (size === 0) return [];
    const ix = this.#index();
    const held: number[] = [];
    const gets = this.i32[GETS] as number;
    for (let k = 0; k < size; k++) {
      let at: number;
      if (this.kind === PRIORITY) at = this.#slotAt(ix, ix.i32[ix.base + k] as number);
      else at = ix.base + (this.kind === FIFO ? (gets + k) & (ix.cap - 1) : k) * ENTRY;
      if (((ix.i32[at] as number) & 0xff) !== T_REC) continue;
      const place = this.#place(ix.i32[at + 1] as number);
      const ids = (ix.i32[at + 2] as number) + align4(ix.i32[at + 5] as number);
      for (let j = 0; j < (ix.i32[at + 6] as number); j++) held.push(place.i32[(ids >> 2) + j] as number);
    }
    // Older chunks each hold only records being discarded: let them go too.
    const chunks = new Set<number>();
    for (let k = 0; k < size; k++) {
      let at: number;
      if (this.kind === PRIORITY) at = this.#slotAt(ix, ix.i32[ix.base + k] as number);
      else at = ix.base + (this.kind === FIFO ? (gets + k) & (ix.cap - 1) : k) * ENTRY;
      if (((ix.i32[at] as number) & 0xff) === T_REC) chunks.add(ix.i32[at + 1] as number);
    }
    this.#write(0, DONE, ((this.i32[DONE] as number) + size) | 0);
    this.#write(0, GETS, (this.i32[PUTS] as number) | 0);
    this.#commit();
    chunks.delete(0);
    chunks.delete(this.i32[CHUNK_ID] as number);
    this.#shrink();
    for (const c of chunks) this.#release(c);
    return held;
  }

  /** Marks one task done; `RangeError` if none is unfinished. */
  taskDone(): void {
    if (this.unfinished() === 0) throw argRangeError('task_done() called too many times');
    Atomics.store(this.i32, DONE, ((this.i32[DONE] as number) + 1) | 0);
  }
}

/** Decodes what `take` returned (after the mutex is released). */
export function decodeTaken(t: Taken): { value: unknown; sabIds: number[] } {
  if ('value' in t) return { value: t.value, sabIds: [] };
  switch (t.format) {
    case F_STR16:
      return { value: stringOf(t.bytes), sabIds: [] };
    case F_VIEW:
      return { value: viewOf(t.view, t.bytes), sabIds: [] };
    case F_V8:
      return { value: valueOf(t.bytes, resolveSabs(t.sabIds)), sabIds: t.sabIds };
    default:
      throw new TypeError(`threadkit: unknown queue record format ${t.format}`);
  }
}
