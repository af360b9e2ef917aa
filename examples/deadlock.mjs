// A deadlock on purpose, and what threadkit tells about it: `node examples/deadlock.mjs` (after
// `npm run build`). Two threads take the same two locks in opposite orders; watchDeadlocks()
// finds the cycle, the program prints the report and a thread dump, then ends the two threads.
import { Barrier, Lock, Thread, formatThreadDump, watchDeadlocks } from 'threadkit';

const accounts = new Lock();
const ledger = new Lock();
const bothHoldOne = new Barrier(2); // makes the bad interleaving certain, for the demo

const transfer = new Thread({
  name: 'transfer',
  target: function transfer(accounts, ledger, bothHoldOne) {
    accounts.acquireSync();
    bothHoldOne.waitSync({ timeout: 10_000 });
    ledger.acquireSync(); // waits for ever: "audit" holds it, and waits for accounts
  },
  args: [accounts, ledger, bothHoldOne],
});
const audit = new Thread({
  name: 'audit',
  target: function audit(accounts, ledger, bothHoldOne) {
    ledger.acquireSync();
    bothHoldOne.waitSync({ timeout: 10_000 });
    accounts.acquireSync(); // waits for ever: "transfer" holds it, and waits for ledger
  },
  args: [accounts, ledger, bothHoldOne],
});

const watch = watchDeadlocks({
  intervalMs: 100,
  onDeadlock: async (deadlocks) => {
    watch.stop();
    for (const d of deadlocks) console.log(`${d.description}\n`);
    console.log(formatThreadDump());
    // A deadlock never ends by itself: end the threads (a Lock held by a terminated thread is
    // released), and the program can exit.
    await Promise.all([transfer.terminate(), audit.terminate()]);
    console.log('terminated "transfer" and "audit"');
  },
});

transfer.start();
audit.start();
