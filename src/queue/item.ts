/**
 * How a queue item is laid out in shared memory: its *image*, made before the queue's mutex is
 * taken (so a value that cannot travel fails at `put` with the queue untouched), and read back
 * by `get`.
 *
 * Small values skip every serializer and live in the item's entry itself (8 Int32 words, see
 * `store.ts`): numbers, `undefined`, `null`, booleans, strings of up to `INLINE_UNITS` UTF-16
 * units. Everything else becomes a *record* in a data chunk, in one of three formats:
 * - `F_STR16`: a string, as its UTF-16 code units;
 * - `F_VIEW`: an `ArrayBuffer`, or a typed array / `DataView` over one, as its raw bytes;
 * - `F_V8`: anything else, through the codec's bytes path (v8's serializer, with threadkit
 *   primitives and SharedArrayBuffers carried by id, `wire/sabs.ts`).
 *
 * A record is `[key][sab ids][payload]`: the PriorityQueue's sort key (`priority.ts`), then the
 * ids of the SharedArrayBuffers the payload references, then the payload; each part starts on a
 * 4-byte boundary.
 */
import { Buffer } from 'node:buffer';
import { decodeFromBytes, encodeToBytes } from '../wire/codec.js';

export const T_NUM = 1;
export const T_UNDEF = 2;
export const T_NULL = 3;
export const T_FALSE = 4;
export const T_TRUE = 5;
export const T_STR = 6;
export const T_REC = 7;

export const F_STR16 = 1;
export const F_VIEW = 2;
export const F_V8 = 3;

/** The longest string kept in an entry (6 words of 2 UTF-16 units). */
export const INLINE_UNITS = 12;

/** The typed array (and DataView, ArrayBuffer) constructors a `F_VIEW` record can rebuild, by code. */
const VIEWS = [
  ArrayBuffer,
  Uint8Array,
  Int8Array,
  Uint8ClampedArray,
  Uint16Array,
  Int16Array,
  Uint32Array,
  Int32Array,
  Float32Array,
  Float64Array,
  BigUint64Array,
  BigInt64Array,
  DataView,
] as const;

/** The tag of a value kept in its entry, or 0 if it needs a record (`imageOf`). */
export function smallTag(item: unknown): number {
  switch (typeof item) {
    case 'number':
      return T_NUM;
    case 'string':
      return item.length <= INLINE_UNITS ? T_STR : 0;
    case 'boolean':
      return item ? T_TRUE : T_FALSE;
    case 'undefined':
      return T_UNDEF;
    case 'object':
      return item === null ? T_NULL : 0;
    default:
      return 0;
  }
}

/** What a put writes: an inline value, or the parts of a record. */
export interface Image {
  tag: number;
  /** T_NUM: the number; T_STR: unused. */
  num: number;
  /** T_STR: the string. */
  str: string;
  /** T_REC: the record's format, view constructor code, payload and the buffers it references. */
  format: number;
  view: number;
  payload: Uint8Array | undefined;
  sabs: SharedArrayBuffer[];
  /** PriorityQueue only: the sort key's encoding (`priority.ts`). */
  key: Uint8Array | undefined;
}

function image(tag: number): Image {
  return { tag, num: 0, str: '', format: 0, view: 0, payload: undefined, sabs: [], key: undefined };
}

/**
 * The image of `item`. Throws a TypeError naming `path` (and where inside it) for what cannot
 * be sent to another thread.
 */
export function imageOf(item: unknown, path: string): Image {
  switch (typeof item) {
    case 'number': {
      const img = image(T_NUM);
      img.num = item;
      return img;
    }
    case 'undefined':
      return image(T_UNDEF);
    case 'boolean':
      return image(item ? T_TRUE : T_FALSE);
    case 'string': {
      if (item.length <= INLINE_UNITS) {
        const img = image(T_STR);
        img.str = item;
        return img;
      }
      const img = image(T_REC);
      img.format = F_STR16;
      img.payload = Buffer.from(item, 'utf16le');
      return img;
    }
    case 'object': {
      if (item === null) return image(T_NULL);
      const view = viewCode(item);
      if (view >= 0) {
        const img = image(T_REC);
        img.format = F_VIEW;
        img.view = view;
        const v = item as ArrayBufferView | ArrayBuffer;
        img.payload = ArrayBuffer.isView(v)
          ? new Uint8Array(v.buffer, v.byteOffset, v.byteLength)
          : new Uint8Array(v as ArrayBuffer);
        return img;
      }
      break;
    }
  }
  const { bytes, sabs } = encodeToBytes(item, path);
  const img = image(T_REC);
  img.format = F_V8;
  img.payload = bytes;
  img.sabs = sabs;
  return img;
}

/**
 * The constructor code of a plain (not shared) ArrayBuffer, typed array or DataView with no own
 * properties of its own, which travels as raw bytes; -1 for anything else.
 */
function viewCode(v: object): number {
  const proto = Object.getPrototypeOf(v);
  for (let k = 0; k < VIEWS.length; k++) {
    if (proto !== VIEWS[k]?.prototype) continue;
    const buffer = k === 0 ? (v as ArrayBuffer) : (v as ArrayBufferView).buffer;
    // An empty buffer goes the general way: it may be detached (Node 20 cannot tell), which
    // that way reports as uncloneable, naming its path.
    if (!(buffer instanceof ArrayBuffer) || buffer.byteLength === 0) return -1;
    if ((buffer as ArrayBuffer & { resizable?: boolean }).resizable) return -1;
    // Structured clone copies a view's whole buffer and keeps its offset: only a view of all of
    // its buffer is its bytes alone. (Own properties of a view are not cloned either way.)
    if (k > 0 && ((v as ArrayBufferView).byteOffset !== 0 || (v as ArrayBufferView).byteLength !== buffer.byteLength)) {
      return -1;
    }
    return k;
  }
  return -1;
}

/** Rebuilds a `F_VIEW` value from its bytes (copied out of shared memory). */
export function viewOf(code: number, bytes: Uint8Array): unknown {
  const copy = bytes.slice().buffer;
  const Ctor = VIEWS[code];
  if (Ctor === ArrayBuffer) return copy;
  if (Ctor === DataView) return new DataView(copy);
  return new (Ctor as unknown as new (b: ArrayBuffer) => ArrayBufferView)(copy);
}

/** Rebuilds a `F_STR16` string. */
export function stringOf(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf16le');
}

/** Rebuilds a `F_V8` value, given the buffers it references. */
export function recordValue(bytes: Uint8Array, sabs: readonly SharedArrayBuffer[]): unknown {
  return decodeFromBytes(bytes, sabs);
}
