/**
 * The supervisor's Worker (see `shared/supervisor-client.ts`). It never blocks: it only reacts
 * to port messages and closes.
 *
 * Messages, on any thread's port:
 * - `{ op: 'watch', ident, port }`: a new thread; when `port` closes, the thread died.
 * - `{ op: 'hold', id, sab }`: one more queue item references shared buffer `id`.
 * - `{ op: 'drop', ids }`: one reference fewer for each id.
 * - `{ op: 'fetch', ids, reply }`: the sender is blocked on arena word `reply` until it receives
 *   `{ sabs }` on the same port. Ids not yet held (their `hold` may still be in flight on another
 *   port) are served as soon as they arrive.
 */
import { type MessagePort, workerData } from 'node:worker_threads';
import { endThread, State } from '../shared/runtime.js';

type Message =
  | { op: 'watch'; ident: number; port: MessagePort }
  | { op: 'hold'; id: number; sab: SharedArrayBuffer }
  | { op: 'drop'; ids: number[] }
  | { op: 'fetch'; ids: number[]; reply: number };

const { arena, port: mainPort } = (
  workerData as { __threadkitSupervisor: { arena: SharedArrayBuffer; port: MessagePort } }
).__threadkitSupervisor;
const i32 = new Int32Array(arena);

const held = new Map<number, { sab: SharedArrayBuffer | undefined; refs: number }>();
const waiting: { port: MessagePort; ids: number[]; reply: number }[] = [];

function serve(port: MessagePort, ids: number[], reply: number): boolean {
  const sabs: SharedArrayBuffer[] = [];
  for (const id of ids) {
    const h = held.get(id);
    if (h?.sab === undefined || h.refs <= 0) return false;
    sabs.push(h.sab);
  }
  port.postMessage({ sabs });
  Atomics.store(i32, reply, 1);
  Atomics.notify(i32, reply);
  return true;
}

function onMessage(port: MessagePort, m: Message): void {
  switch (m.op) {
    case 'watch':
      listen(m.port, m.ident);
      break;
    case 'hold': {
      // A drop may overtake its hold (they travel on different ports): it leaves refs below 0,
      // which this hold brings back up.
      const h = held.get(m.id) ?? { sab: m.sab, refs: 0 };
      h.sab = m.sab;
      h.refs++;
      if (h.refs === 0) held.delete(m.id);
      else held.set(m.id, h);
      for (let k = waiting.length - 1; k >= 0; k--) {
        const w = waiting[k] as (typeof waiting)[number];
        if (serve(w.port, w.ids, w.reply)) waiting.splice(k, 1);
      }
      break;
    }
    case 'drop':
      for (const id of m.ids) {
        const h = held.get(id);
        if (h === undefined) held.set(id, { sab: undefined, refs: -1 });
        else if (--h.refs === 0) held.delete(id);
      }
      break;
    case 'fetch':
      if (!serve(port, m.ids, m.reply)) waiting.push({ port, ids: m.ids, reply: m.reply });
      break;
  }
}

function listen(port: MessagePort, ident: number): void {
  port.on('message', (m: Message) => onMessage(port, m));
  port.on('close', () => {
    if (ident !== 0) endThread(i32, ident, State.Died, true);
  });
}

listen(mainPort, 0);
