/**
 * The codec: everything that crosses a thread boundary goes through `encode` on one side and
 * `decode` on the other (SPEC "What crosses a thread boundary").
 *
 * `encode(value, path)` walks the value once and returns a structured-cloneable tree in which:
 * - a shareable object (every primitive, `Local`, `TaskRef`) is a marker `{ [TAG]: 'p', d }`
 *   whose descriptor carries its SharedArrayBuffer (structured clone shares those natively);
 * - an error is a marker `{ [TAG]: 'e', r }` with its class, message, cause, props and stack;
 * - a user object that happens to own the key TAG is wrapped (`'o'`), so markers are unambiguous.
 * Everything else is left as is (copy-on-write: objects are copied only on the path to a marker),
 * and what structured clone cannot carry (functions, symbols, Thread/Future/pool objects, weak
 * collections, promises) throws a TypeError naming where it sits: `args[1].handler`.
 *
 * The tree then travels by `postMessage` (thread arguments, results), or as bytes through
 * `encodeToBytes` (shared-memory queues): v8's serializer, with every SharedArrayBuffer replaced
 * by its index in a side list (`_getSharedArrayBufferId`), since bytes cannot hold one.
 * `decode(tree, special)` revives markers; `special` is false when the tree has none, which
 * spares the walk.
 */
import { Deserializer, Serializer } from 'node:v8';
import { argTypeError } from '../errors.js';
import { describe } from '../shared/validate.js';
import { type ErrorRecord, errorToRecord, isError, recordToError } from './errors.js';
import { isShareable, reviverOf, SHARE, type ShareDescriptor, UNSHARE, UNSHAREABLE } from './kinds.js';
import { movedOf, type Transferable } from './move.js';

const TAG = '\u0000threadkit';

/**
 * Markers. `'b'` and `'v'` exist only on the bytes path, where a SharedArrayBuffer (or a view on
 * one) is replaced by its index in the side list, and a primitive's descriptor carries `si`
 * instead of `sab`: Node's v8 Deserializer cannot receive a SharedArrayBuffer.
 */
type Marker =
  | { [TAG]: 'p'; d: ShareDescriptor & { si?: number } }
  | { [TAG]: 'e'; r: ErrorRecord }
  | { [TAG]: 'o'; v: Record<string, unknown> }
  | { [TAG]: 'b'; i: number }
  | { [TAG]: 'v'; i: number; t: string; o: number; l: number };

const UNCLONEABLE_TAGS = new Set([
  '[object WeakMap]',
  '[object WeakSet]',
  '[object WeakRef]',
  '[object Promise]',
  '[object FinalizationRegistry]',
  '[object Generator]',
  '[object AsyncGenerator]',
]);

const PASS_TAGS = new Set([
  '[object Date]',
  '[object RegExp]',
  '[object ArrayBuffer]',
  '[object SharedArrayBuffer]',
  '[object DataView]',
  '[object Boolean]',
  '[object Number]',
  '[object String]',
  '[object BigInt]',
  '[object Blob]',
  '[object File]',
]);

/** An encoded value and whether it holds markers. */
export interface Encoded {
  v: unknown;
  s: boolean;
}

/**
 * Where a value sits, for error messages: the root's name, or one step down from a parent. Built
 * as a chain and turned into text (`args[1].handler`) only when an error names it, so a walk over
 * a large value pays no string building per key.
 */
type Path = string | PathStep;
interface PathStep {
  readonly up: Path;
  readonly key: string | number;
  readonly kind: StepKind;
}
type StepKind = 'prop' | 'index' | 'mapKey' | 'mapGet' | 'setItem' | 'part';

function step(up: Path, key: string | number, kind: StepKind): PathStep {
  return { up, key, kind };
}

/** The text of a path: `args[1].handler`, `item.get("k")`, `q<part 0>`. */
function pathText(path: Path): string {
  if (typeof path === 'string') return path;
  const up = pathText(path.up);
  const k = path.key;
  switch (path.kind) {
    case 'prop':
      return /^[A-Za-z_$][\w$]*$/.test(k as string) ? `${up}.${k}` : `${up}[${JSON.stringify(k)}]`;
    case 'index':
      return `${up}[${k}]`;
    case 'mapKey':
      return `${up}<key ${k}>`;
    case 'mapGet':
      return `${up}.get(${typeof k === 'string' ? JSON.stringify(k) : `<key ${k}>`})`;
    case 'setItem':
      return `${up}<item ${k}>`;
    case 'part':
      return `${up}<part ${k}>`;
  }
}

/** Values that `Encoder.encode` returns as they are, without looking at their path. */
function isPlainScalar(v: unknown): boolean {
  const t = typeof v;
  return v === null || (t !== 'object' && t !== 'function' && t !== 'symbol');
}

/** What `Encoder.seen` holds for an object that encodes to `undefined` (`move(undefined)`). */
const SEEN_UNDEFINED = Symbol('undefined');

class Encoder {
  special = false;
  /** Each object met, and what it encodes to (never `undefined`: see SEEN_UNDEFINED). */
  private readonly seen = new Map<object, unknown>();
  /** Set on the bytes path: SharedArrayBuffers go here and markers take their place. */
  /** A back-reference reached a container still being walked and not (yet) copied. */
  backEdge = false;
  private readonly open = new Set<object>();
  /** A `move()` wrapper was replaced by its value: a copy on the path to it, as for a marker. */
  moved = false;

  /**
   * `copyAll`: copy every plain container before walking it. Copy-on-write alone goes wrong on a
   * cycle: a back-reference met before the container is copied points at the original, whose
   * primitives were never replaced. `encode` re-runs in this mode when that happened.
   * `transfer`: given for a target's result, where `move()` wrappers are unwrapped at any depth
   * and their buffers collected here.
   */
  constructor(
    private readonly sabs?: SharedArrayBuffer[],
    private readonly copyAll = false,
    private readonly transfer?: Set<Transferable>,
    /** Descriptors of the shareables met, kept across both passes: a `[SHARE]()` runs once per object. */
    readonly shared = new Map<object, ShareDescriptor>(),
  ) {}

  private sabIndex(sab: SharedArrayBuffer): number {
    const list = this.sabs as SharedArrayBuffer[];
    const i = list.indexOf(sab);
    return i >= 0 ? i : list.push(sab) - 1;
  }

  encode(value: unknown, path: Path): unknown {
    switch (typeof value) {
      case 'function':
        throw argTypeError(
          `${pathText(path)} is ${describe(value)}, which cannot be sent to another thread: ` +
            'send the data it needs, or import the code inside the thread',
        );
      case 'symbol':
        throw argTypeError(`${pathText(path)} is ${describe(value)}, which cannot be sent to another thread`);
      case 'object':
        if (value === null) return value;
        break;
      default:
        return value;
    }
    const obj = value as object;
    const known = this.seen.get(obj);
    if (known !== undefined) {
      if (known === obj && this.open.has(obj)) this.backEdge = true;
      return known === SEEN_UNDEFINED ? undefined : known;
    }
    // Plain arrays and objects, most of any payload, skip the checks for special kinds (shareables
    // and the uncloneable are class instances; a `move()` wrapper is plain, and only looked for in
    // a result).
    const proto = Object.getPrototypeOf(obj);
    if (proto === Array.prototype && Array.isArray(obj)) return this.array(obj, path);
    if (proto === Object.prototype && (this.transfer === undefined || movedOf(obj) === undefined)) {
      return this.object(obj, path);
    }
    if (isShareable(obj)) return this.share(obj, path);
    const moved = this.transfer === undefined ? undefined : movedOf(obj);
    if (moved !== undefined) {
      this.moved = true;
      for (const t of moved.transfer) this.transfer?.add(t);
      const v = this.encode(moved.value, path);
      this.seen.set(obj, v === undefined ? SEEN_UNDEFINED : v);
      return v;
    }
    const unshareable = (obj as Record<symbol, unknown>)[UNSHAREABLE];
    if (unshareable !== undefined) {
      throw argTypeError(`${pathText(path)} is ${String(unshareable)}, which cannot be sent to another thread`);
    }
    if (ArrayBuffer.isView(obj)) {
      if (this.sabs === undefined || !(obj.buffer instanceof SharedArrayBuffer)) return obj;
      this.special = true;
      const length = obj instanceof DataView ? obj.byteLength : (obj as unknown as { length: number }).length;
      const t = Object.prototype.toString.call(obj).slice(8, -1);
      return { [TAG]: 'v', i: this.sabIndex(obj.buffer), t, o: obj.byteOffset, l: length } satisfies Marker;
    }
    const tag = Object.prototype.toString.call(obj);
    if (this.sabs !== undefined && tag === '[object SharedArrayBuffer]') {
      this.special = true;
      return { [TAG]: 'b', i: this.sabIndex(obj as SharedArrayBuffer) } satisfies Marker;
    }
    if (isError(obj)) {
      this.special = true;
      const marker: Marker = { [TAG]: 'e', r: undefined as unknown as ErrorRecord };
      this.seen.set(obj, marker);
      marker.r = errorToRecord(obj as Error, (v, key) => this.encode(v, step(path, key, 'prop')));
      return marker;
    }
    if (PASS_TAGS.has(tag)) return obj;
    if (UNCLONEABLE_TAGS.has(tag)) {
      throw argTypeError(`${pathText(path)} is ${tag.slice(8, -1)}, which cannot be sent to another thread`);
    }
    if (Array.isArray(obj)) return this.array(obj, path);
    if (obj instanceof Map) return this.map(obj, path);
    if (obj instanceof Set) return this.set(obj, path);
    return this.object(obj, path);
  }

  private share(obj: { [SHARE](): ShareDescriptor }, path: Path): unknown {
    this.special = true;
    let d = this.shared.get(obj);
    if (d === undefined) {
      d = obj[SHARE]();
      this.shared.set(obj, d);
    }
    const marker: Marker & { [TAG]: 'p' } = { [TAG]: 'p', d: { ...d } };
    if (this.sabs !== undefined && d.sab !== undefined) {
      marker.d.si = this.sabIndex(d.sab);
      delete marker.d.sab;
    }
    this.seen.set(obj, marker);
    if (d.parts !== undefined) marker.d.parts = d.parts.map((p, i) => this.encode(p, step(path, i, 'part')));
    return marker;
  }

  private array(arr: unknown[], path: Path): unknown {
    let out: unknown[] | undefined = this.copyAll ? [] : undefined;
    this.seen.set(arr, out ?? arr);
    this.open.add(arr);
    for (let i = 0; i < arr.length; i++) {
      const v = arr[i];
      const e = isPlainScalar(v) ? v : this.encode(v, step(path, i, 'index'));
      if (e !== v && out === undefined) {
        out = arr.slice(0, i);
        this.seen.set(arr, out);
      }
      if (out !== undefined) out[i] = e;
    }
    this.open.delete(arr);
    return out ?? arr;
  }

  private map(m: Map<unknown, unknown>, path: Path): unknown {
    let out: Map<unknown, unknown> | undefined = this.copyAll ? new Map() : undefined;
    this.seen.set(m, out ?? m);
    this.open.add(m);
    const entries = [...m];
    for (let i = 0; i < entries.length; i++) {
      const [k, v] = entries[i] as [unknown, unknown];
      const ek = isPlainScalar(k) ? k : this.encode(k, step(path, i, 'mapKey'));
      const ev = isPlainScalar(v) ? v : this.encode(v, step(path, typeof k === 'string' ? k : i, 'mapGet'));
      if ((ek !== k || ev !== v) && out === undefined) {
        out = new Map(entries.slice(0, i));
        this.seen.set(m, out);
      }
      out?.set(ek, ev);
    }
    this.open.delete(m);
    return out ?? m;
  }

  private set(s: Set<unknown>, path: Path): unknown {
    let out: Set<unknown> | undefined = this.copyAll ? new Set() : undefined;
    this.seen.set(s, out ?? s);
    this.open.add(s);
    const items = [...s];
    for (let i = 0; i < items.length; i++) {
      const v = items[i];
      const e = isPlainScalar(v) ? v : this.encode(v, step(path, i, 'setItem'));
      if (e !== v && out === undefined) {
        out = new Set(items.slice(0, i));
        this.seen.set(s, out);
      }
      out?.add(e);
    }
    this.open.delete(s);
    return out ?? s;
  }

  private object(obj: object, path: Path): unknown {
    const proto = Object.getPrototypeOf(obj);
    const plain = proto === Object.prototype || proto === null;
    this.open.add(obj);
    // Class instances are copied only if a marker must replace something inside them: into a
    // plain object of their own enumerable data, which is what structured clone makes of them.
    // Otherwise they are left to structured clone, which also knows host objects (a MessagePort
    // listed in `transfer` travels; one that is not fails, and the caller names its path).
    let out: Record<string, unknown> | undefined = this.copyAll && plain ? {} : undefined;
    this.seen.set(obj, out ?? obj);
    const src = obj as Record<string, unknown>;
    const keys = Object.keys(src);
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i] as string;
      const v = src[k];
      const e = isPlainScalar(v) ? v : this.encode(v, step(path, k, 'prop'));
      if (e !== v && out === undefined) {
        out = {};
        for (let j = 0; j < i; j++) out[keys[j] as string] = src[keys[j] as string];
        this.seen.set(obj, out);
      }
      if (out !== undefined) out[k] = e;
    }
    this.open.delete(obj);
    if (Object.hasOwn(src, TAG)) {
      this.special = true;
      const wrapped: Marker = { [TAG]: 'o', v: (out ?? { ...src }) as Record<string, unknown> };
      this.seen.set(obj, wrapped);
      return wrapped;
    }
    return out ?? obj;
  }
}

/**
 * Encodes a value for another thread; throws TypeError naming `path` for what cannot travel.
 * With `transfer` (a target's result), each `move()` found at any depth is replaced by its value
 * and its buffers are added to `transfer`.
 */
export function encode(
  value: unknown,
  path: string,
  sabs?: SharedArrayBuffer[],
  transfer?: Set<Transferable>,
): Encoded {
  return encodeWith(value, path, sabs, transfer, new Map());
}

function encodeWith(
  value: unknown,
  path: string,
  sabs: SharedArrayBuffer[] | undefined,
  transfer: Set<Transferable> | undefined,
  shared: Map<object, ShareDescriptor>,
): Encoded {
  if (typeof value !== 'object' && typeof value !== 'function' && typeof value !== 'symbol')
    return { v: value, s: false };
  try {
    const e = new Encoder(sabs, false, transfer, shared);
    const v = e.encode(value, path);
    if (!(e.backEdge && (e.special || e.moved))) return { v, s: e.special };
    sabs?.splice(0);
    transfer?.clear();
    const again = new Encoder(sabs, true, transfer, shared);
    return { v: again.encode(value, path), s: again.special };
  } catch (e) {
    unshare(shared);
    throw e;
  }
}

/** A value that will not be sent after all: its shareables take back what `[SHARE]()` did. */
function unshare(shared: Map<object, ShareDescriptor>): void {
  for (const obj of shared.keys()) (obj as { [UNSHARE]?: () => void })[UNSHARE]?.();
}

/**
 * Forgets an encoded value that will never be decoded (a message that could not be sent, a
 * task cancelled before it ran): decoding it here gives back what its shareables hold for it
 * in transit (a queue's reference count).
 */
export function discardEncoded(e: Encoded): void {
  if (e.s) decode(e.v, e.s);
}

/**
 * Encodes what a target threw. An error is marked as thrown, so that the receiver appends its
 * stack to the local one (SPEC rule 4); the same error sent as data keeps its stack unchanged.
 */
export function encodeThrown(error: unknown, path: string): Encoded {
  const e = encode(error, path);
  const top = e.v as Partial<Marker> | null;
  if (typeof top === 'object' && top !== null && top[TAG] === 'e') (top as { r: ErrorRecord }).r.thrown = true;
  return e;
}

class Reviver {
  private readonly seen = new Set<object>();
  /** Markers already revived: an object met twice (or in a cycle) is rebuilt once. */
  private readonly done = new Map<object, unknown>();
  constructor(
    private readonly threadName: string | undefined,
    private readonly sabs?: readonly SharedArrayBuffer[],
  ) {}

  revive(value: unknown): unknown {
    if (typeof value !== 'object' || value === null) return value;
    const obj = value as Record<string, unknown>;
    if (obj[TAG] !== undefined && Object.hasOwn(obj, TAG)) {
      const known = this.done.get(obj);
      if (known !== undefined) return known;
      return this.marker(obj as unknown as Marker);
    }
    return this.fields(obj);
  }

  private marker(m: Marker): unknown {
    switch (m[TAG]) {
      case 'p': {
        const d = m.d;
        if (d.si !== undefined) d.sab = this.sab(d.si);
        if (d.parts !== undefined) d.parts = d.parts.map((p) => this.revive(p));
        const p = reviverOf(d.kind)(d);
        this.done.set(m, p);
        return p;
      }
      case 'e':
        // Registered before its cause and properties are decoded, so cycles close on it.
        return recordToError(
          m.r,
          (v) => this.revive(v),
          this.threadName,
          (error) => this.done.set(m, error),
        );
      case 'o':
        // The escaped user object: its fields are revived, its own TAG key is data.
        this.done.set(m, m.v);
        return this.fields(m.v, true);
      case 'b':
        return this.sab(m.i);
      case 'v': {
        const Ctor = (
          globalThis as unknown as Record<string, new (b: SharedArrayBuffer, o: number, l: number) => unknown>
        )[m.t];
        if (typeof Ctor !== 'function') throw new TypeError(`threadkit: cannot rebuild a view of type ${m.t}`);
        return new Ctor(this.sab(m.i), m.o, m.l);
      }
    }
  }

  private sab(i: number): SharedArrayBuffer {
    const sab = this.sabs?.[i];
    if (sab === undefined) throw new TypeError(`threadkit: shared buffer #${i} is missing from the decoded value`);
    return sab;
  }

  private fields(obj: Record<string, unknown>, escaped = false): unknown {
    if (this.seen.has(obj)) return obj;
    this.seen.add(obj);
    if (ArrayBuffer.isView(obj)) return obj;
    if (Array.isArray(obj)) {
      for (let i = 0; i < obj.length; i++) obj[i] = this.revive(obj[i]);
    } else if (obj instanceof Map) {
      const entries = [...obj].map(([k, v]) => [this.revive(k), this.revive(v)] as const);
      obj.clear();
      for (const [k, v] of entries) obj.set(k, v);
    } else if (obj instanceof Set) {
      const items = [...obj].map((v) => this.revive(v));
      obj.clear();
      for (const v of items) obj.add(v);
    } else if (escaped || Object.getPrototypeOf(obj) === Object.prototype || Object.getPrototypeOf(obj) === null) {
      for (const k of Object.keys(obj)) obj[k] = this.revive(obj[k]);
    }
    return obj;
  }
}

/** Revives what `encode` produced, after it crossed. `threadName` labels remote stacks. */
export function decode(
  value: unknown,
  special: boolean,
  threadName?: string,
  sabs?: readonly SharedArrayBuffer[],
): unknown {
  return special ? new Reviver(threadName, sabs).revive(value) : value;
}

/**
 * After `postMessage` (or `new Worker`) refused a value that `encode` let through (a host object
 * such as a socket), finds where it sits, for an error that names the path.
 */
export function findUncloneable(value: unknown, path: string): string | undefined {
  const found = findIn(value, path, new Set<object>());
  return found === undefined ? undefined : pathText(found);
}

function findIn(value: unknown, path: Path, seen: Set<object>): Path | undefined {
  try {
    structuredClone(value);
    return undefined;
  } catch {
    if (typeof value !== 'object' || value === null || seen.has(value)) return path;
    seen.add(value);
    const entries: [Path, unknown][] = Array.isArray(value)
      ? value.map((v, i) => [step(path, i, 'index'), v])
      : value instanceof Map
        ? [...value].map(([k, v], i) => [step(path, typeof k === 'string' ? k : i, 'mapGet'), v])
        : value instanceof Set
          ? [...value].map((v, i) => [step(path, i, 'setItem'), v])
          : Object.keys(value).map((k) => [step(path, k, 'prop'), (value as Record<string, unknown>)[k]]);
    for (const [p, v] of entries) {
      const found = findIn(v, p, seen);
      if (found !== undefined) return found;
    }
    return path;
  }
}

/** The TypeError for a value that structured clone refused. */
export function uncloneableError(value: unknown, path: string, cause: unknown): TypeError {
  const where = findUncloneable(value, path) ?? path;
  const detail = cause instanceof Error ? cause.message : String(cause);
  return Object.assign(new TypeError(`${where} cannot be sent to another thread: ${detail}`, { cause }), {
    code: 'ERR_INVALID_ARG_TYPE',
  });
}

// ---- bytes: for values stored in shared memory (queues) -----------------------------------

/**
 * Encodes a value to bytes plus the SharedArrayBuffers it references (primitives' state and the
 * user's own), which the caller carries by id (`wire/sabs.ts`). The bytes never hold a
 * SharedArrayBuffer: markers name them by index in `sabs`.
 */
export function encodeToBytes(value: unknown, path: string): { bytes: Uint8Array; sabs: SharedArrayBuffer[] } {
  const sabs: SharedArrayBuffer[] = [];
  const shared = new Map<object, ShareDescriptor>();
  const { v, s } = encodeWith(value, path, sabs, undefined, shared);
  const ser = new Serializer();
  ser.writeHeader();
  try {
    ser.writeValue([s, v]);
  } catch (cause) {
    unshare(shared);
    throw uncloneableError(v, path, cause);
  }
  return { bytes: ser.releaseBuffer(), sabs };
}

/** Decodes what `encodeToBytes` produced, given its SharedArrayBuffers in the same order. */
export function decodeFromBytes(bytes: Uint8Array, sabs: readonly SharedArrayBuffer[]): unknown {
  const des = new Deserializer(bytes);
  des.readHeader();
  const [s, v] = des.readValue() as [boolean, unknown];
  return decode(v, s, undefined, sabs);
}
