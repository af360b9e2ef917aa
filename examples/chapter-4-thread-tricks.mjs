// Chapter 4 of `threadkit demo`, standalone: `node examples/chapter-4-thread-tricks.mjs`.
// Kill a runaway thread, stop one with an Event, a Timer, the excepthook, a lock whose holder
// dies, and last, daemon and non-daemon threads at the process's exit.
import assert from 'node:assert/strict';
import { Event, Lock, Thread, ThreadExitError, Timer, setExcepthook } from 'threadkit';

// 1. terminate() ends a thread even in an endless loop.
const spinning = new Event();
const runaway = new Thread({
  name: 'runaway',
  target: (spinning) => {
    spinning.set();
    for (;;);
  },
  args: [spinning],
});
runaway.start();
await spinning.wait();
await runaway.terminate();
await assert.rejects(runaway.result(), ThreadExitError);
console.log('runaway: terminated, alive =', runaway.isAlive()); // false

// 2. Stopping cooperatively: the thread checks an Event between slices of work.
const stop = new Event();
const cruncher = new Thread({
  target: (stop) => {
    let slices = 0;
    while (!stop.isSet()) {
      for (let i = 0; i < 100_000; i++) Math.sqrt(i);
      slices++;
    }
    return slices;
  },
  args: [stop],
});
cruncher.start();
await new Promise((resolve) => setTimeout(resolve, 200));
stop.set();
const slices = await cruncher.result(); // it returned normally, with its result
console.log(`cruncher: stopped by the Event after ${slices} slices of work`);

// 3. A Timer runs its target after an interval (milliseconds) unless cancelled first.
const t0 = Date.now();
const timer = new Timer(100, () => 'ding');
timer.start();
console.log('timer:', await timer.result(), Date.now() - t0 >= 100 ? 'after 100 ms or more' : 'too early');
const cancelled = new Timer(100, () => 'ding');
cancelled.start();
cancelled.cancel();
console.log('cancelled timer:', await cancelled.result()); // undefined: its target never ran

// 4. An uncaught error goes to the excepthook (by default: "Exception in thread NAME:" on stderr).
const seen = [];
setExcepthook(({ error, thread }) => seen.push(`${thread.name}: ${error.name}: ${error.message}`));
const faulty = new Thread({
  name: 'faulty',
  target: () => {
    throw new RangeError('42 is out of range');
  },
});
faulty.start();
await faulty.join(); // join() never rejects for the target's error
setExcepthook(undefined);
console.log('excepthook got:', seen.join('; ')); // faulty: RangeError: 42 is out of range

// 5. A Lock whose holder dies is released (threadkit warns on stderr) and the next waiter gets it.
const lock = new Lock();
const holding = new Event();
const holder = new Thread({
  name: 'holder',
  target: (lock, holding) => {
    lock.acquireSync();
    holding.set();
    for (;;);
  },
  args: [lock, holding],
});
holder.start();
await holding.wait();
const waiting = lock.acquire({ timeout: 10_000 });
await holder.terminate();
console.log('lock taken over from the dead holder:', await waiting); // true
lock.release();

// 6. At exit the process waits for non-daemon threads and ends daemon ones.
const sleeper = new Thread({
  name: 'sleeper',
  daemon: true,
  target: () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0), // sleeps forever
});
const worker = new Thread({
  name: 'worker',
  target: () => {
    const end = Date.now() + 300;
    while (Date.now() < end);
  },
});
sleeper.start();
worker.start();
process.on('exit', () => {
  console.log(`exit: worker alive = ${worker.isAlive()}; the daemon did not hold the process`);
});
console.log('main: end of the script; the worker still has ~300 ms to go');
