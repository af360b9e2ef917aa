/**
 * `move(value, transfer?)`: a target's way to move its result's buffers back instead of copying
 * them (SPEC rule 3). The codec recognises the wrapper, at any depth of a result, by a `Symbol.for`
 * brand, so it works whichever copy of the package the target imported.
 */
import { argTypeError } from '../errors.js';

const MOVED = Symbol.for('threadkit.moved');

export interface Moved<T> {
  readonly [MOVED]: true;
  readonly value: T;
  readonly transfer: Transferable[];
}

/** The non-shared ArrayBuffers inside a value (views included), each once. */
export function findArrayBuffers(
  value: unknown,
  found = new Set<ArrayBuffer>(),
  seen = new Set<object>(),
): ArrayBuffer[] {
  if (typeof value === 'object' && value !== null && !seen.has(value)) {
    seen.add(value);
    if (value instanceof ArrayBuffer) found.add(value);
    else if (ArrayBuffer.isView(value)) {
      if (value.buffer instanceof ArrayBuffer) found.add(value.buffer);
    } else if (value instanceof Map)
      for (const [k, v] of value) findArrayBuffers(k, found, seen), findArrayBuffers(v, found, seen);
    else if (value instanceof Set || Array.isArray(value)) for (const v of value) findArrayBuffers(v, found, seen);
    else for (const k of Object.keys(value)) findArrayBuffers((value as Record<string, unknown>)[k], found, seen);
  }
  return [...found];
}

/**
 * Returns `value` from a thread or task target so that its buffers are moved to the receiving
 * thread, not copied. `transfer` defaults to every ArrayBuffer found in `value`.
 */
export function move<T>(value: T, transfer?: Transferable[]): T {
  if (transfer !== undefined && !Array.isArray(transfer)) {
    throw argTypeError('Expected `transfer` to be an array of transferable objects');
  }
  const moved: Moved<T> = { [MOVED]: true, value, transfer: transfer ?? findArrayBuffers(value) };
  return moved as unknown as T;
}

/** The `move()` wrapper `value` is, if it is one (the codec unwraps them at any depth of a result). */
export function movedOf(value: object): Moved<unknown> | undefined {
  return (value as Record<symbol, unknown>)[MOVED] === true ? (value as Moved<unknown>) : undefined;
}

/** What `transfer` options accept: ArrayBuffers, MessagePorts and the other transferables. */
export type Transferable = import('node:worker_threads').TransferListItem;
