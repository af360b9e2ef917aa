/**
 * `PriorityQueue` order (SPEC "Queues"): numbers and bigints by value, strings by code point (as
 * Python's `str`), arrays element by element like Python tuples, nested arrays the same way.
 * Comparison stops, as equal, at the first element that is not a number, bigint, string or
 * array; items still equal come out in insertion order (the store breaks ties by a sequence
 * number). `NaN`, or two comparable values of different kinds (a number and a string, a string
 * and an array…), throw `TypeError`, as Python's `<` does.
 *
 * An item's *key* is the comparable part of it, encoded at `put` (before the queue's mutex is
 * taken) into bytes that live in shared memory with the item, so that any thread can compare
 * two items without decoding either:
 * `NUM f64` | `BIG len utf8-decimal` | `STR len utf16-units` | `ARR count elements…` | `STOP`.
 */
import { argTypeError } from '../errors.js';

const NUM = 1;
const BIG = 2;
const STR = 3;
const ARR = 4;
const STOP = 5;

/** A decoded key: the comparable value, or `STOPPED` where comparison stops. */
export type Key = number | bigint | string | Key[] | typeof STOPPED;
export const STOPPED: unique symbol = Symbol('stop');

/** The key of an item, as a JS value (numbers and short strings in entries use it directly). */
export function keyOf(item: unknown, depth = 0): Key {
  switch (typeof item) {
    case 'number':
    case 'bigint':
    case 'string':
      return item;
    case 'object':
      if (Array.isArray(item) && depth < 64) {
        const out: Key[] = [];
        for (let i = 0; i < item.length; i++) {
          const k = keyOf(item[i], depth + 1);
          out.push(k);
          if (k === STOPPED) break; // nothing after it is ever compared
        }
        return out;
      }
      return STOPPED;
    default:
      return STOPPED;
  }
}

/** Encodes a key (see the file's comment). */
export function encodeKey(key: Key): Uint8Array {
  const parts: number[] = [];
  const f64 = new Float64Array(1);
  const u8 = new Uint8Array(f64.buffer);
  const u32 = (n: number) => parts.push(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24);
  const walk = (k: Key): void => {
    if (k === STOPPED) parts.push(STOP);
    else if (typeof k === 'number') {
      parts.push(NUM);
      f64[0] = k;
      for (const b of u8) parts.push(b);
    } else if (typeof k === 'bigint') {
      const s = k.toString();
      parts.push(BIG);
      u32(s.length);
      for (let i = 0; i < s.length; i++) parts.push(s.charCodeAt(i));
    } else if (typeof k === 'string') {
      parts.push(STR);
      u32(k.length);
      for (let i = 0; i < k.length; i++) {
        const c = k.charCodeAt(i);
        parts.push(c & 0xff, c >>> 8);
      }
    } else {
      parts.push(ARR);
      u32(k.length);
      for (const e of k) walk(e);
    }
  };
  walk(key);
  return Uint8Array.from(parts);
}

/** Decodes a key from shared memory (`bytes` may be a view of a shared chunk). */
export function decodeKey(bytes: Uint8Array): Key {
  let at = 0;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u32 = (): number => {
    const n = dv.getUint32(at, true);
    at += 4;
    return n;
  };
  const read = (): Key => {
    const t = bytes[at++];
    switch (t) {
      case NUM: {
        const v = dv.getFloat64(at, true);
        at += 8;
        return v;
      }
      case BIG: {
        const n = u32();
        let s = '';
        for (let i = 0; i < n; i++) s += String.fromCharCode(bytes[at++] as number);
        return BigInt(s);
      }
      case STR: {
        const n = u32();
        let s = '';
        for (let i = 0; i < n; i++, at += 2)
          s += String.fromCharCode((bytes[at] as number) | ((bytes[at + 1] as number) << 8));
        return s;
      }
      case ARR: {
        const n = u32();
        const out: Key[] = [];
        for (let i = 0; i < n; i++) out.push(read());
        return out;
      }
      default:
        return STOPPED;
    }
  };
  return read();
}

function kindOf(k: Key): string {
  if (typeof k === 'number' || typeof k === 'bigint') return 'number';
  if (typeof k === 'string') return 'string';
  return 'array';
}

const isHigh = (u: number): boolean => u >= 0xd800 && u <= 0xdbff;
const isLow = (u: number): boolean => u >= 0xdc00 && u <= 0xdfff;

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

/** Thrown inside a comparison to end it as "equal" at a non-comparable element. */
const STOP_COMPARING = Symbol('stop comparing');

function compareKeys(a: Key, b: Key): number {
  if (a === STOPPED || b === STOPPED) throw STOP_COMPARING;
  const ka = kindOf(a);
  const kb = kindOf(b);
  if (ka !== kb) {
    throw argTypeError(
      `PriorityQueue cannot order ${describeKey(a)} against ${describeKey(b)} ('<' not supported between a ${ka} and a ${kb})`,
    );
  }
  if (ka === 'number') {
    if (Number.isNaN(a) || Number.isNaN(b)) {
      throw argTypeError('PriorityQueue cannot order NaN: it is neither less than, equal to nor greater than anything');
    }
    return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
  }
  if (ka === 'string') return compareStrings(a as string, b as string);
  const x = a as Key[];
  const y = b as Key[];
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const c = compareKeys(x[i] as Key, y[i] as Key);
    if (c !== 0) return c;
  }
  return x.length === y.length ? 0 : x.length < y.length ? -1 : 1;
}

/** -1, 0 or 1; throws `TypeError` for keys Python could not order. */
export function compare(a: Key, b: Key): number {
  try {
    return compareKeys(a, b);
  } catch (e) {
    if (e === STOP_COMPARING) return 0;
    throw e;
  }
}

function describeKey(k: Key): string {
  if (typeof k === 'string') return `the string ${JSON.stringify(k.length > 20 ? `${k.slice(0, 20)}…` : k)}`;
  if (typeof k === 'number' || typeof k === 'bigint')
    return `the number ${String(k)}${typeof k === 'bigint' ? 'n' : ''}`;
  return 'an array';
}
