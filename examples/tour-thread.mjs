// README tour, a thread: `node examples/tour-thread.mjs` (after `npm run build`).
import { Thread, enumerate } from 'threadkit';

// A target is a self-contained function: it sees its parameters and globals, no outer variables.
function fib(n) {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

// Three OS threads compute at once (no GIL): each one a Worker with its own V8 isolate.
const threads = [25, 26, 27].map((n) => new Thread({ name: `fib-${n}`, target: fib, args: [n] }));
for (const t of threads) t.start();
const alive = enumerate().map((t) => t.name); // every live thread of the process, main included
console.log(alive.join(', ')); // MainThread, fib-25, fib-26, fib-27
for (const t of threads) console.log(t.name, await t.result()); // fib-25 75025 ... fib-27 196418
