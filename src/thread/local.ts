/**
 * `Local`: Python's `threading.local`. Each thread has its own heap, so an object's properties
 * already belong to the thread that set them; what `Local` adds is how it crosses: passed to
 * another thread it arrives empty, and passed to the same thread again (or back to the thread
 * that made it) it arrives as the same object, with that thread's properties.
 */
import { runtime } from '../shared/runtime.js';
import { defineKind, remember, reviveOnce, SHARE, type ShareDescriptor } from '../wire/kinds.js';

// Symbol.for: a Local made by one build of the package is known to the other.
const UID = Symbol.for('threadkit.Local.uid');
const rt = runtime();

/** An object whose properties belong to the thread that set them. Python: `threading.local`. */
export class Local {
  declare [UID]: number;
  [key: string]: unknown;

  constructor() {
    Object.defineProperty(this, UID, { value: rt.ident * 0x1_0000_0000 + ++rt.uidSeq });
  }

  /** @internal */
  [SHARE](): ShareDescriptor {
    remember(this[UID], this);
    return { kind: 'Local', uid: this[UID] };
  }
}

defineKind('Local', (d) =>
  reviveOnce(d.uid as number, () => {
    const local = Object.create(Local.prototype) as Local;
    Object.defineProperty(local, UID, { value: d.uid });
    return local;
  }),
);
