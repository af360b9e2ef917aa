/**
 * How objects that must arrive "as themselves" describe and revive themselves across threads.
 *
 * A shareable object (every primitive, `Local`) has a `[SHARE]()` method returning a descriptor:
 * its kind, the `SharedArrayBuffer` holding its state, and `parts` (other values it needs, encoded
 * by the codec in turn: a Condition's lock, a Barrier's action). The receiving thread looks the
 * kind up here and revives the object around the same shared memory. Keys are `Symbol.for`, so
 * the ESM and CommonJS builds understand each other's objects.
 */
import { runtime } from '../shared/runtime.js';

export const SHARE = Symbol.for('threadkit.share');
/** Undoes a `[SHARE]()` whose value was never sent (an encoding that failed further on). */
export const UNSHARE = Symbol.for('threadkit.unshare');
/** Objects that can never cross (Thread, Future, ThreadPool): the value names them for errors. */
export const UNSHAREABLE = Symbol.for('threadkit.unshareable');

export interface ShareDescriptor {
  kind: string;
  sab?: SharedArrayBuffer;
  uid?: number;
  parts?: unknown[];
}

export interface Shareable {
  [SHARE](): ShareDescriptor;
}

export type Reviver = (descriptor: ShareDescriptor) => object;

const revivers = new Map<string, Reviver>();

/** Registers how to revive objects of `kind`; each primitive module calls it once. */
export function defineKind(kind: string, reviver: Reviver): void {
  revivers.set(kind, reviver);
}

export function reviverOf(kind: string): Reviver {
  const r = revivers.get(kind);
  if (r === undefined)
    throw new TypeError(`threadkit: cannot revive an object of unknown kind ${JSON.stringify(kind)}`);
  return r;
}

export function isShareable(value: object): value is Shareable {
  return typeof (value as Partial<Shareable>)[SHARE] === 'function';
}

// ---- identity: the same primitive arrives as the same object -------------------------------

/**
 * uid → the object this thread has for it. Kept on the process runtime, not in this module, so
 * that both builds of the package (ESM and CommonJS, loaded side by side) share it.
 */
interface Identity {
  live: Map<number, WeakRef<object>>;
  gone: FinalizationRegistry<number>;
}

function identity(): Identity {
  const slots = runtime().slots;
  let id = slots.get('identity') as Identity | undefined;
  if (id === undefined) {
    const live = new Map<number, WeakRef<object>>();
    const gone = new FinalizationRegistry<number>((uid) => {
      if (live.get(uid)?.deref() === undefined) live.delete(uid);
    });
    id = { live, gone };
    slots.set('identity', id);
  }
  return id;
}

/** Makes `object` the one this thread revives for `uid` (called when it first crosses). */
export function remember(uid: number, object: object): void {
  const { live, gone } = identity();
  if (live.get(uid)?.deref() === undefined) {
    live.set(uid, new WeakRef(object));
    gone.register(object, uid);
  }
}

/** The object this thread already has for `uid`, or a new one made by `make` and remembered. */
export function reviveOnce<T extends object>(uid: number, make: () => T): T {
  const known = identity().live.get(uid)?.deref();
  if (known !== undefined) return known as T;
  const made = make();
  remember(uid, made);
  return made;
}
