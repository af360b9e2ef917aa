/**
 * The base of every shared primitive: an object around its own small `SharedArrayBuffer`.
 *
 * Each primitive owns one buffer (not a slot in a common arena) so that the garbage collector
 * reclaims it like any object once no thread references it: creating a `Lock` per request, a
 * million times, keeps memory bounded with no bookkeeping, even inside a synchronous loop.
 *
 * Header words, written once by the constructor:
 * - `W_UID_LO`, `W_UID_HI`: a process-unique id (creating thread's ident, per-thread counter),
 *   so that a primitive sent to a thread twice, or back to its creator, arrives as one object.
 * - `W_DIAG_ID`: its number in diagnostics (`Lock#12`), given on first need by a CAS from 0 (so
 *   primitives nobody waits on cost nothing): the next value of the arena's `H_DIAG_SEQ`.
 * Subclasses' own words start at `FIRST_WORD`.
 */
import { H_DIAG_SEQ, runtime } from '../shared/runtime.js';
import { remember, reviveOnce, SHARE, type Shareable, type ShareDescriptor } from '../wire/kinds.js';

export const W_UID_LO = 0;
export const W_UID_HI = 1;
export const W_DIAG_ID = 2;
export const FIRST_WORD = 3;

const rt = runtime();
/** This thread's ident, read on every hot path. */
export const ME = rt.ident;

const KIND = Symbol.for('threadkit.kind');
const OWN_KIND = Symbol.for('threadkit.ownKind');

export function uidOf(i32: Int32Array): number {
  return (i32[W_UID_HI] as number) * 0x1_0000_0000 + ((i32[W_UID_LO] as number) >>> 0);
}

export abstract class SharedPrimitive implements Shareable {
  /** @internal The shared state; see each subclass for its layout. */
  readonly _i32: Int32Array;

  protected constructor(words: number, sab?: SharedArrayBuffer) {
    if (sab !== undefined) {
      this._i32 = new Int32Array(sab);
      return;
    }
    const i32 = new Int32Array(new SharedArrayBuffer(words * 4));
    i32[W_UID_LO] = ++rt.uidSeq;
    i32[W_UID_HI] = ME;
    this._i32 = i32;
  }

  /** @internal */
  abstract _kind(): string;

  /** @internal Its number in diagnostics (`shared/records.ts`). */
  _diagId(): number {
    const i32 = this._i32;
    const id = Atomics.load(i32, W_DIAG_ID);
    if (id !== 0) return id;
    const fresh = Atomics.add(rt.i32, H_DIAG_SEQ, 1) + 1;
    return Atomics.compareExchange(i32, W_DIAG_ID, 0, fresh) || fresh;
  }

  /** @internal Other values this primitive needs on the far side (encoded by the codec). */
  _parts(): unknown[] | undefined {
    return undefined;
  }

  /** @internal */
  [SHARE](): ShareDescriptor {
    remember(uidOf(this._i32), this);
    return { kind: this._kind(), sab: this._i32.buffer as SharedArrayBuffer, parts: this._parts() };
  }
}

/** Revives a primitive of this thread for the shared buffer, reusing the object it already has. */
export function revivePrimitive<T extends object>(
  sab: SharedArrayBuffer | undefined,
  make: (sab: SharedArrayBuffer) => T,
): T {
  if (sab === undefined) throw new TypeError('threadkit: a primitive descriptor without its shared memory');
  const i32 = new Int32Array(sab, 0, FIRST_WORD);
  return reviveOnce(uidOf(i32), () => make(sab));
}

/**
 * Gives a class brand-based `instanceof`, so that a Lock made by the CommonJS build is a Lock to
 * the ESM build too (both can be loaded in one thread).
 */
export function brandClass(cls: { prototype: object }, name: string): void {
  const parent = Object.getPrototypeOf(cls.prototype) as Record<symbol, readonly string[] | undefined>;
  const chain = [name, ...(parent[KIND] ?? [])];
  Object.defineProperty(cls.prototype, KIND, { value: Object.freeze(chain) });
  Object.defineProperty(cls, OWN_KIND, { value: name });
  Object.defineProperty(cls, Symbol.hasInstance, {
    value(this: object, value: unknown): boolean {
      const own = Object.hasOwn(this, OWN_KIND) ? (this as Record<symbol, string>)[OWN_KIND] : undefined;
      if (own === undefined) return Function.prototype[Symbol.hasInstance].call(this, value);
      if (typeof value !== 'object' || value === null) return false;
      const c = (value as Record<symbol, unknown>)[KIND];
      return Array.isArray(c) && c.includes(own);
    },
    configurable: true,
  });
}
