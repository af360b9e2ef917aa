/**
 * `PriorityQueue` order (SPEC "Queues"): numbers and bigints by value, strings by code point (as
 * Python's `str`), arrays element by element like Python tuples, nested arrays the same way.
 * Comparison stops, as equal, at the first element that is not a number, bigint, string or
 * array; items still equal come out in insertion order (the store breaks ties by a sequence
 * number). `NaN`, or two comparable values of different kinds (a number and a string, a string
 * and an array…), throw `TypeError`, as Python's `<` does.
 *
 * An item's *key* is the comparable part of it. A number or a short string, kept in its entry,
 * is its own key; any other item's key is encoded at `put` (before the queue's mutex is taken)
 * into bytes that live in shared memory with the item, so that any thread can compare two items
 * in place, without decoding either. The encoding is a stream of tokens, so that a comparison
 * is one loop over two streams (no recursion: arrays nest as deep as the codec carries them)
 * which stops at the first token that decides, and costs what it reads:
 * `NUM f64` | `BIG u32-length latin1-decimal` | `STR u32-length wtf8` | `ARR elements… END` |
 * `STOP` (all little-endian). A string is in WTF-8 (UTF-8 that also encodes a lone surrogate
 * as its own code point): comparing those bytes as unsigned (`Buffer.compare`, a `memcmp`) is
 * comparing the strings by code point, shorter first on a common prefix, as Python does. A
 * stream ends at its first `STOP`: nothing after it is ever compared.
 */
import { Buffer } from 'node:buffer';
import { argTypeError } from '../errors.js';

const NUM = 1;
const BIG = 2;
const STR = 3;
const ARR = 4;
const STOP = 5;
const END = 6;

/**
 * A key: a number, bigint or string itself, `STOPPED` where comparison stops (any value that is
 * not comparable), or an encoded key (arrays, and whatever `encodeKey` was given).
 */
export type Key = number | bigint | string | typeof STOPPED | Uint8Array;
export const STOPPED: unique symbol = Symbol('stop');

/**
 * The key of an item: a number, bigint or string is its own key, an array is encoded at once
 * (a snapshot: what the item's image holds is what gets compared), anything else is `STOPPED`.
 */
export function keyOf(item: unknown): Key {
  switch (typeof item) {
    case 'number':
    case 'bigint':
    case 'string':
      return item;
    case 'object':
      return Array.isArray(item) ? encodeArray(item) : STOPPED;
    default:
      return STOPPED;
  }
}

/** A key's encoding (see the file's comment); an encoded key is returned as it is. */
export function encodeKey(key: Key): Uint8Array {
  if (key instanceof Uint8Array) return key;
  const w = new KeyWriter(16);
  if (!w.scalar(key)) w.byte(STOP);
  return w.done();
}

/**
 * Encodes an array without recursion: `open` holds the arrays being walked (the innermost last)
 * and `next` the index of the element each is at. An array that contains itself (`onPath`)
 * would never end: there the key stops, as at a payload. (Python would only fail, with
 * RecursionError, if a comparison ever got that far.)
 */
function encodeArray(root: unknown[]): Uint8Array {
  const w = new KeyWriter(64);
  const open: unknown[][] = [root];
  const next: number[] = [0];
  const onPath = new Set<unknown[]>([root]);
  w.byte(ARR);
  while (open.length > 0) {
    const top = open.length - 1;
    const a = open[top] as unknown[];
    const i = next[top] as number;
    if (i >= a.length) {
      w.byte(END);
      onPath.delete(a);
      open.pop();
      next.pop();
      continue;
    }
    next[top] = i + 1;
    const x = a[i];
    if (w.scalar(x)) continue;
    if (Array.isArray(x) && !onPath.has(x)) {
      w.byte(ARR);
      open.push(x);
      next.push(0);
      onPath.add(x);
      continue;
    }
    w.byte(STOP); // nothing after it is ever compared
    break;
  }
  return w.done();
}

/** A growing byte buffer that keys are written into. */
class KeyWriter {
  #buf: Buffer;
  #at = 0;

  constructor(bytes: number) {
    this.#buf = Buffer.allocUnsafe(bytes);
  }

  #room(n: number): Buffer {
    if (this.#at + n > this.#buf.length) {
      const b = Buffer.allocUnsafe(Math.max(2 * this.#buf.length, this.#at + n));
      b.set(this.#buf.subarray(0, this.#at));
      this.#buf = b;
    }
    return this.#buf;
  }

  byte(t: number): void {
    this.#room(1)[this.#at++] = t;
  }

  /** Writes a number, bigint or string; false for anything else (nothing written). */
  scalar(x: unknown): boolean {
    switch (typeof x) {
      case 'number': {
        const b = this.#room(9);
        b[this.#at] = NUM;
        b.writeDoubleLE(x, this.#at + 1);
        this.#at += 9;
        return true;
      }
      case 'bigint': {
        const s = x.toString();
        const b = this.#room(5 + s.length);
        b[this.#at] = BIG;
        b.writeUInt32LE(s.length, this.#at + 1);
        b.write(s, this.#at + 5, s.length, 'latin1');
        this.#at += 5 + s.length;
        return true;
      }
      case 'string':
        this.#string(x);
        return true;
      default:
        return false;
    }
  }

  #string(s: string): void {
    let n: number;
    if (s.isWellFormed()) {
      // UTF-8 and WTF-8 agree on a well-formed string: Node's native encoder does it.
      n = Buffer.byteLength(s, 'utf8');
      const b = this.#room(5 + n);
      b.write(s, this.#at + 5, n, 'utf8');
    } else {
      n = writeWtf8(this.#room(5 + 3 * s.length), this.#at + 5, s);
    }
    const b = this.#buf;
    b[this.#at] = STR;
    b.writeUInt32LE(n, this.#at + 1);
    this.#at += 5 + n;
  }

  done(): Uint8Array {
    return this.#buf.subarray(0, this.#at);
  }
}

const isHigh = (u: number): boolean => u >= 0xd800 && u <= 0xdbff;
const isLow = (u: number): boolean => u >= 0xdc00 && u <= 0xdfff;

/**
 * Writes `s` in WTF-8 at `b[at]` (room for 3 bytes a unit): a surrogate pair as its code point,
 * a lone surrogate as its own value, as UTF-8 would any other code point of three bytes.
 * Returns the bytes written.
 */
function writeWtf8(b: Uint8Array, at: number, s: string): number {
  const start = at;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (isHigh(c) && i + 1 < s.length && isLow(s.charCodeAt(i + 1))) {
      c = 0x10000 + ((c - 0xd800) << 10) + (s.charCodeAt(++i) - 0xdc00);
      b[at++] = 0xf0 | (c >> 18);
      b[at++] = 0x80 | ((c >> 12) & 0x3f);
      b[at++] = 0x80 | ((c >> 6) & 0x3f);
    } else if (c < 0x80) {
      b[at++] = c;
      continue;
    } else if (c < 0x800) {
      b[at++] = 0xc0 | (c >> 6);
    } else {
      b[at++] = 0xe0 | (c >> 12);
      b[at++] = 0x80 | ((c >> 6) & 0x3f);
    }
    b[at++] = 0x80 | (c & 0x3f);
  }
  return at - start;
}

// ---- comparing --------------------------------------------------------------------------------

/** -1, 0 or 1; throws `TypeError` for keys Python could not order. */
export function compare(a: Key, b: Key): number {
  if (!(a instanceof Uint8Array) && !(b instanceof Uint8Array)) return compareScalars(a, b);
  return compareEncoded(encodeKey(a), encodeKey(b));
}

/** Compares two keys that are not encoded (the common case of numbers and short strings). */
function compareScalars(a: Exclude<Key, Uint8Array>, b: Exclude<Key, Uint8Array>): number {
  if (a === STOPPED || b === STOPPED) return 0;
  if (typeof a === 'string' && typeof b === 'string') return compareStrings(a, b);
  if (typeof a === 'string' || typeof b === 'string') {
    throw mismatch(describeScalar(a), kindOfScalar(a), describeScalar(b), kindOfScalar(b));
  }
  if (Number.isNaN(a) || Number.isNaN(b)) throw nanError();
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Compares strings by code point, as Python's `str` (JS `<` compares UTF-16 code units). Up to
 * the first unit that differs the two strings agree, so the first code point that differs starts
 * there, or one unit earlier when that unit is a high surrogate paired with a low one in either
 * string. A surrogate that is not part of a pair is the code point of its own value (U+D800 to
 * U+DFFF), as in Python: remapping surrogate units above U+FFFF instead would misplace a lone
 * one after U+E000-FFFF.
 */
function compareStrings(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const at = i > 0 && isHigh(a.charCodeAt(i - 1)) && (isLow(x) || isLow(y)) ? i - 1 : i;
    return (a.codePointAt(at) as number) < (b.codePointAt(at) as number) ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);

function readF64(u: Uint8Array, at: number): number {
  for (let k = 0; k < 8; k++) f64Bytes[k] = u[at + k] as number;
  return f64[0] as number;
}

function readU32(u: Uint8Array, at: number): number {
  return (
    ((u[at] as number) | ((u[at + 1] as number) << 8) | ((u[at + 2] as number) << 16)) + (u[at + 3] as number) * 2 ** 24
  );
}

/** The kind a token compares as: numbers and bigints are one kind. */
const kindOfToken = (t: number): string => (t === NUM || t === BIG ? 'number' : t === STR ? 'string' : 'array');

/** The bytes at `a[i]`, `n` of them, against `b[j]`, `m` of them, as unsigned: -1, 0 or 1. */
function compareBytes(a: Uint8Array, i: number, n: number, b: Uint8Array, j: number, m: number): number {
  const short = Math.min(n, m);
  if (short > 32) {
    return Buffer.compare(a.subarray(i, i + n), b.subarray(j, j + m));
  }
  for (let k = 0; k < short; k++) {
    const x = a[i + k] as number;
    const y = b[j + k] as number;
    if (x !== y) return x < y ? -1 : 1;
  }
  return n === m ? 0 : n < m ? -1 : 1;
}

/**
 * Compares two encoded keys token by token, stopping at the first that decides. An array's
 * `END` met against an element of the other is the shorter tuple, which comes first; two `END`s
 * close the arrays both streams were in, and when that was the outermost one, the keys are
 * equal. The streams are at the same depth throughout: an array is only entered on both sides.
 */
function compareEncoded(a: Uint8Array, b: Uint8Array): number {
  let i = 0;
  let j = 0;
  let depth = 0;
  for (;;) {
    const ta = a[i] as number;
    const tb = b[j] as number;
    if (ta === END || tb === END) {
      if (ta !== tb) return ta === END ? -1 : 1;
      i++;
      j++;
      if (--depth === 0) return 0;
      continue;
    }
    if (ta === STOP || tb === STOP) return 0;
    const kind = kindOfToken(ta);
    if (kind !== kindOfToken(tb)) {
      throw mismatch(describeToken(a, i), kind, describeToken(b, j), kindOfToken(tb));
    }
    let c: number;
    if (ta === ARR) {
      i++;
      j++;
      depth++;
      continue;
    } else if (ta === STR) {
      const n = readU32(a, i + 1);
      const m = readU32(b, j + 1);
      c = compareBytes(a, i + 5, n, b, j + 5, m);
      i += 5 + n;
      j += 5 + m;
    } else {
      if (ta === BIG && tb === BIG) c = compareDecimals(a, i, b, j);
      else {
        const x = readNumber(a, i);
        const y = readNumber(b, j);
        c = x < y ? -1 : x > y ? 1 : 0;
      }
      i += ta === NUM ? 9 : 5 + readU32(a, i + 1);
      j += tb === NUM ? 9 : 5 + readU32(b, j + 1);
    }
    if (c !== 0 || depth === 0) return c;
  }
}

/** The number or bigint token at `u[at]`; `TypeError` for NaN. */
function readNumber(u: Uint8Array, at: number): number | bigint {
  if (u[at] === BIG) return BigInt(latin1(u, at + 5, readU32(u, at + 1)));
  const v = readF64(u, at + 1);
  if (Number.isNaN(v)) throw nanError();
  return v;
}

function latin1(u: Uint8Array, at: number, n: number): string {
  return Buffer.from(u.buffer, u.byteOffset + at, n).toString('latin1');
}

/** Two bigint tokens, by value, from their decimal digits: sign, then number of digits, then digits. */
function compareDecimals(a: Uint8Array, i: number, b: Uint8Array, j: number): number {
  const n = readU32(a, i + 1);
  const m = readU32(b, j + 1);
  const negA = a[i + 5] === 0x2d;
  const negB = b[j + 5] === 0x2d;
  if (negA !== negB) return negA ? -1 : 1;
  const c = n !== m ? (n < m ? -1 : 1) : compareBytes(a, i + 5, n, b, j + 5, m);
  return negA ? -c : c;
}

// ---- errors -----------------------------------------------------------------------------------

const article = (kind: string): string => (kind === 'array' ? 'an' : 'a');

function mismatch(da: string, ka: string, db: string, kb: string): TypeError {
  return argTypeError(
    `PriorityQueue cannot order ${da} against ${db} ('<' not supported between ${article(ka)} ${ka} and ${article(kb)} ${kb})`,
  );
}

function nanError(): TypeError {
  return argTypeError('PriorityQueue cannot order NaN: it is neither less than, equal to nor greater than anything');
}

function kindOfScalar(k: number | bigint | string): string {
  return typeof k === 'string' ? 'string' : 'number';
}

function describeString(s: string, more: boolean): string {
  return `the string ${JSON.stringify(more || s.length > 20 ? `${s.slice(0, 20)}…` : s)}`;
}

function describeScalar(k: number | bigint | string): string {
  if (typeof k === 'string') return describeString(k, false);
  return `the number ${String(k)}${typeof k === 'bigint' ? 'n' : ''}`;
}

/** Describes the token at `u[at]` for an error message (a string: its first 20 units). */
function describeToken(u: Uint8Array, at: number): string {
  switch (u[at]) {
    case NUM:
      return `the number ${String(readF64(u, at + 1))}`;
    case BIG:
      return `the number ${latin1(u, at + 5, readU32(u, at + 1))}n`;
    case STR: {
      // 20 units take at most 60 bytes: a longer string has more than 20.
      const n = readU32(u, at + 1);
      return describeString(readWtf8(u, at + 5, Math.min(n, 64)), n > 64);
    }
    default:
      return 'an array';
  }
}

/** Decodes up to `n` bytes of WTF-8 (a code point cut at the end is left out). */
function readWtf8(u: Uint8Array, at: number, n: number): string {
  let s = '';
  const end = at + n;
  while (at < end) {
    const b = u[at] as number;
    const len = b < 0x80 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;
    if (at + len > end) break;
    let c = len === 1 ? b : b & (0xff >> (len + 1));
    for (let k = 1; k < len; k++) c = (c << 6) | ((u[at + k] as number) & 0x3f);
    s += c > 0xffff ? String.fromCodePoint(c) : String.fromCharCode(c);
    at += len;
  }
  return s;
}
