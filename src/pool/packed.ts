/**
 * Small values written straight into shared memory, skipping every serializer: the arguments
 * and results of tiny tasks (numbers, short strings, booleans, `null`/`undefined`, and small
 * arrays of them) travel in their task slot (`channel.ts`). Anything else is `NOT_PACKED` and
 * takes the general path (the codec, over the worker's MessagePort).
 *
 * A value is a tag word, then its payload:
 * - `NUM`: a float64 in the next two words (8-aligned: tags of numbers are padded to odd words);
 * - `STR | length << 8`: UTF-16 units, two per word;
 * - `ARR | count << 8`: `count` values follow;
 * - `UNDEF`, `NULL`, `FALSE`, `TRUE`: nothing.
 */

const NUM = 1;
const STR = 2;
const ARR = 3;
const UNDEF = 4;
const NULL = 5;
const FALSE = 6;
const TRUE = 7;

/** The longest string, and the most array elements, kept inline. */
const MAX_UNITS = 128;
const MAX_ITEMS = 32;

/** `pack`'s answer for a value that does not fit (or is not a small value). */
export const NOT_PACKED = -1;

/**
 * Writes `value` at word `at` (no further than word `end`) and returns the word after it, or
 * `NOT_PACKED`. `f64` views the same buffer.
 */
export function pack(value: unknown, i32: Int32Array, f64: Float64Array, at: number, end: number, depth = 0): number {
  switch (typeof value) {
    case 'number':
      // Pad so the float64 starts on an even word.
      if ((at & 1) === 0) {
        if (at + 1 > end) return NOT_PACKED;
        i32[at++] = 0;
      }
      if (at + 3 > end) return NOT_PACKED;
      i32[at] = NUM;
      f64[(at + 1) >> 1] = value;
      return at + 3;
    case 'string': {
      const n = value.length;
      if (n > MAX_UNITS || at + 1 + ((n + 1) >> 1) > end) return NOT_PACKED;
      i32[at] = STR | (n << 8);
      for (let k = 0; k < n; k += 2)
        i32[at + 1 + (k >> 1)] = value.charCodeAt(k) | ((value.charCodeAt(k + 1) || 0) << 16);
      return at + 1 + ((n + 1) >> 1);
    }
    case 'boolean':
      if (at >= end) return NOT_PACKED;
      i32[at] = value ? TRUE : FALSE;
      return at + 1;
    case 'undefined':
      if (at >= end) return NOT_PACKED;
      i32[at] = UNDEF;
      return at + 1;
    case 'object': {
      if (value === null) {
        if (at >= end) return NOT_PACKED;
        i32[at] = NULL;
        return at + 1;
      }
      if (!Array.isArray(value) || depth > 0 || Object.getPrototypeOf(value) !== Array.prototype) return NOT_PACKED;
      const n = value.length;
      if (n > MAX_ITEMS || at >= end) return NOT_PACKED;
      i32[at++] = ARR | (n << 8);
      for (let k = 0; k < n; k++) {
        // A hole is not `undefined` to structured clone: leave sparse arrays to it.
        if (!(k in value)) return NOT_PACKED;
        at = pack(value[k], i32, f64, at, end, depth + 1);
        if (at === NOT_PACKED) return NOT_PACKED;
      }
      return at;
    }
    default:
      return NOT_PACKED;
  }
}

/** Reads a value `pack` wrote at word `at`; `next[0]` receives the word after it. */
export function unpack(i32: Int32Array, f64: Float64Array, u16: Uint16Array, at: number, next: number[]): unknown {
  let w = i32[at] as number;
  if (w === 0) w = i32[++at] as number; // padding before a number
  switch (w & 0xff) {
    case NUM:
      next[0] = at + 3;
      return f64[(at + 1) >> 1];
    case STR: {
      const n = w >>> 8;
      next[0] = at + 1 + ((n + 1) >> 1);
      return String.fromCharCode.apply(null, u16.subarray(2 * at + 2, 2 * at + 2 + n) as unknown as number[]);
    }
    case ARR: {
      const n = w >>> 8;
      const out: unknown[] = new Array(n);
      let p = at + 1;
      for (let k = 0; k < n; k++) {
        out[k] = unpack(i32, f64, u16, p, next);
        p = next[0] as number;
      }
      next[0] = p;
      return out;
    }
    case UNDEF:
      next[0] = at + 1;
      return undefined;
    case NULL:
      next[0] = at + 1;
      return null;
    case FALSE:
      next[0] = at + 1;
      return false;
    case TRUE:
      next[0] = at + 1;
      return true;
    default:
      throw new TypeError(`threadkit: a task slot holds an unknown value tag ${w & 0xff}`);
  }
}
