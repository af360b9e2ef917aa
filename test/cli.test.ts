/**
 * The `threadkit` command (dist/cli.js): help, usage errors and exit codes for both commands,
 * `demo --quick` end to end with its self-checks, `demo --json`, and the argument handling of
 * `bench` and its output, on scenarios that are skipped at once (never its speed: figures are
 * measured by `npm run bench`, not here).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { describe, test } from 'node:test';
import { CLI, ESCAPE, run, threadkit } from './helpers-cli.js';

/** util-linux `script`, which runs a command on a pseudo-terminal (absent: the TTY tests skip). */
const hasScript = (() => {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** Runs `threadkit ...args` with its stdout on a terminal, through `script`. */
function onTerminal(args: string[], env: Record<string, string | undefined> = {}) {
  const command = [process.execPath, CLI, ...args].map((a) => `'${a}'`).join(' ');
  return run(
    [
      '-e',
      `require('node:child_process').execFileSync('script', ['-qec', process.argv[1], '/dev/null'], { stdio: 'inherit' })`,
      command,
    ],
    {
      env,
      timeout: 90_000,
    },
  );
}

describe('threadkit (no command)', () => {
  test('--help lists the commands and exits 0', async () => {
    const r = await threadkit(['--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^usage: threadkit <command>/);
    assert.match(r.stdout, /^ {2}demo /m);
    assert.match(r.stdout, /^ {2}bench /m);
  });

  test('--version prints the package version', async () => {
    const r = await threadkit(['--version']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\d+\.\d+\.\d+/);
  });

  for (const [args, message] of [
    [[], /a command is required/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['--frobnicate'], /unknown option '--frobnicate'/],
  ] as const) {
    test(`threadkit ${args.join(' ') || '(nothing)'}: usage error, exit 2`, async () => {
      const r = await threadkit([...args]);
      assert.equal(r.code, 2);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, message);
      assert.match(r.stderr, /Run 'threadkit --help' for usage/);
    });
  }
});

describe('threadkit demo: arguments', () => {
  test('--help describes the chapters and options, exit 0', async () => {
    const r = await threadkit(['demo', '--help']);
    assert.equal(r.code, 0, r.stderr);
    for (const option of ['--chapter N', '--threads N', '--quick', '--json', '--help']) {
      assert.ok(r.stdout.includes(option), `--help mentions ${option}`);
    }
    assert.match(r.stdout, /^ {2}4 {2}thread tricks/m);
  });

  for (const [args, message] of [
    [['--bogus'], /unknown option '--bogus'/],
    [['--chapter', '5'], /--chapter expects a whole number from 1 to 4, got '5'/],
    [['--chapter', '1,x'], /--chapter expects a whole number from 1 to 4, got 'x'/],
    // An empty list is not "no filter": that would run every chapter.
    [['--chapter', ''], /--chapter expects a chapter number \(or several, comma-separated\), got ''/],
    [['--chapter', ','], /--chapter expects a chapter number \(or several, comma-separated\), got ','/],
    [['--chapter', '1,,2'], /--chapter expects a chapter number .*, got '1,,2'/],
    [['--threads', '0'], /--threads expects a whole number from 1 to 64, got '0'/],
    [['--threads', '2.5'], /--threads expects a whole number/],
    [['--threads'], /option '--threads' needs a value/],
    [['--quick=yes'], /option '--quick' takes no value/],
    [['chapter1'], /unexpected argument 'chapter1'/],
  ] as const) {
    test(`demo ${args.join(' ')}: usage error, exit 2, nothing run`, async () => {
      const r = await threadkit(['demo', ...args]);
      assert.equal(r.code, 2, r.stdout);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, message);
      assert.match(r.stderr, /Run 'threadkit demo --help' for usage/);
    });
  }
});

describe('threadkit demo: runs', () => {
  test('--quick runs the four chapters end to end, every self-check passing, in plain text', async () => {
    const r = await threadkit(['demo', '--quick'], { timeout: 120_000 });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    for (const n of [1, 2, 3, 4]) assert.match(r.stdout, new RegExp(`^== Chapter ${n}: `, 'm'));
    // What each chapter claims, and the measurements it reports.
    assert.match(r.stdout, /enumerate\(\) while they run/);
    assert.match(r.stdout, /without a lock: [\d,]+ of [\d,]+/);
    assert.match(r.stdout, /with a Lock: ([\d,]+) of \1 /);
    assert.match(r.stdout, /^ {2}main thread, no pool +[\d.]+ ms/m);
    assert.match(r.stdout, /requests\/s +p50 +p90 +p99 +max/);
    assert.match(r.stdout, /terminate\(\) ended the runaway thread/);
    assert.match(r.stdout, /^All \d+ checks passed in [\d.]+ s\.$/m);
    assert.doesNotMatch(r.stdout, /^ {2}FAIL /m);
    // Piped: plain lines, no escape codes, no progress bar redraws.
    assert.doesNotMatch(r.stdout, ESCAPE);
    assert.doesNotMatch(r.stdout, /\r/);
    // stderr has the one warning chapter 4 provokes (a lock whose holder died), nothing else.
    const stderr = r.stderr.split('\n').filter((l) => l !== '' && !/THREADKIT_DEAD_HOLDER|--trace-warnings/.test(l));
    assert.deepEqual(stderr, []);
  });

  test('--json prints one document with the checks and measurements of the chapters asked for', async () => {
    const r = await threadkit(['demo', '--quick', '--json', '--chapter', '1', '--threads', '3'], {
      timeout: 60_000,
    });
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.command, 'demo');
    assert.equal(doc.ok, true);
    assert.equal(doc.threads, 3);
    assert.equal(doc.quick, true);
    assert.deepEqual(
      doc.chapters.map((c: { chapter: number }) => c.chapter),
      [1],
    );
    const [c1] = doc.chapters;
    assert.equal(c1.ok, true);
    assert.ok(c1.checks.length >= 3 && c1.checks.every((c: { ok: boolean }) => c.ok));
    assert.equal(c1.results.threads, 3);
    assert.equal(c1.results.primes, 25_997);
    assert.equal(c1.results.shares.length, 3);
  });

  test('on a terminal: bold headings, boxed tables and a live progress bar', { skip: !hasScript }, async () => {
    const r = await onTerminal(['demo', '--quick', '--chapter', '3']);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, ESCAPE);
    assert.match(r.stdout, /━━ Chapter 3: /);
    assert.match(r.stdout, /┌─/); // cli-table3's box
    assert.match(r.stdout, /█/); // cli-progress's bar
    assert.match(r.stdout, /✔.* every pool counted/);
  });

  test('on a terminal under CI: plain lines all the same', { skip: !hasScript }, async () => {
    const r = await onTerminal(['demo', '--quick', '--chapter', '1'], { CI: 'true' });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.doesNotMatch(r.stdout, ESCAPE);
    assert.match(r.stdout, /^== Chapter 1: /m);
  });

  test('CI=true with the output piped: plain lines', async () => {
    const r = await threadkit(['demo', '--quick', '--chapter', '1'], { env: { CI: 'true' }, timeout: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, ESCAPE);
    assert.match(r.stdout, /^ {2}ok {3}the shares add up to/m);
  });
});

describe('threadkit bench: arguments (no measuring)', () => {
  test('--help describes the options, exit 0', async () => {
    const r = await threadkit(['bench', '--help']);
    assert.equal(r.code, 0, r.stderr);
    for (const option of ['--quick', '--only NAME', '--list', '--json', '--markdown FILE']) {
      assert.ok(r.stdout.includes(option), `--help mentions ${option}`);
    }
  });

  test('--list names every scenario', async () => {
    const r = await threadkit(['bench', '--list']);
    assert.equal(r.code, 0, r.stderr);
    const names = r.stdout.trim().split('\n');
    for (const s of ['startup', 'handoff', 'pool-throughput', 'pool-cpu', 'queue-mpmc']) {
      assert.ok(
        names.some((n) => n.startsWith(s)),
        `${s} is listed`,
      );
    }
  });

  for (const [args, message] of [
    [['--only', 'nope'], /unknown scenario 'nope' \(the scenarios are startup, /],
    [['--only', 'handoff,nope,nada'], /unknown scenarios 'nope', 'nada'/],
    [['--fast'], /unknown option '--fast'/],
    [['--only'], /option '--only' needs a value/],
    [['--markdown', ''], /--markdown expects a file name/],
    // An empty list is not "no filter": that would run every scenario.
    [['--only', ''], /--only expects a scenario name \(or several, comma-separated\), got ''/],
    [['--only', ','], /--only expects a scenario name \(or several, comma-separated\), got ','/],
    [['--only', 'handoff', '--only', ' '], /--only expects a scenario name .*, got ' '/],
    // Found before the run, not after it (a full run takes minutes).
    [
      ['--only', 'before-after', '--markdown', '/nonexistent/dir/x.md'],
      /--markdown \/nonexistent\/dir\/x\.md: the directory \/nonexistent\/dir does not exist/,
    ],
    [['--only', 'before-after', '--markdown', tmpdir()], /--markdown .*: is a directory/],
    [['pool'], /unexpected argument 'pool'/],
  ] as const) {
    test(`bench ${args.join(' ')}: usage error, exit 2, nothing measured`, async () => {
      const r = await threadkit(['bench', ...args]);
      assert.equal(r.code, 2, r.stdout);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, message);
      assert.match(r.stderr, /Run 'threadkit bench --help' for usage/);
    });
  }

  test('--json: stdout is the JSON document alone, even when a scenario is skipped for a setting', async () => {
    // before-after needs THREADKIT_BENCH_BEFORE: unset, it is skipped at once (nothing measured).
    const r = await threadkit(['bench', '--quick', '--json', '--only', 'before-after'], {
      env: { THREADKIT_BENCH_BEFORE: undefined },
    });
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.deepEqual(
      doc.scenarios.map((s: { name: string }) => s.name),
      ['before-after'],
    );
    assert.match(doc.scenarios[0].skipped, /set THREADKIT_BENCH_BEFORE/);
    assert.match(r.stderr, /before-after skipped/);

    const plain = await threadkit(['bench', '--quick', '--only', 'before-after'], {
      env: { THREADKIT_BENCH_BEFORE: undefined },
    });
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stdout, /before-after: skipped, set THREADKIT_BENCH_BEFORE/);
  });

  test('missing peers: says how to install them and runs what it can', async () => {
    // tinybench missing: `uncontended` is skipped at once, so nothing is measured here.
    const without = 'piscina,tinypool,workerpool,async-mutex,tinybench';
    const plain = await threadkit(['bench', '--quick', '--only', 'uncontended'], {
      env: { THREADKIT_BENCH_WITHOUT: without },
    });
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stdout, /not installed: piscina, tinypool, workerpool, async-mutex, tinybench/);
    assert.match(plain.stdout, /npm install --no-save piscina@\^5[\d.]* tinypool@\^2[\d.]* workerpool@\^10[\d.]*/);
    assert.match(plain.stdout, /uncontended: skipped, needs tinybench/);
    assert.doesNotMatch(plain.stdout, ESCAPE);

    const json = await threadkit(['bench', '--quick', '--only', 'uncontended', '--json'], {
      env: { THREADKIT_BENCH_WITHOUT: without },
    });
    assert.equal(json.code, 0, json.stderr);
    const doc = JSON.parse(json.stdout);
    assert.equal(doc.command, 'bench');
    assert.equal(doc.quick, true);
    assert.deepEqual(doc.missingPeers, without.split(','));
    assert.deepEqual(
      doc.scenarios.map((s: { name: string }) => s.name),
      ['uncontended'],
    );
    assert.match(doc.scenarios[0].skipped, /needs tinybench/);
    assert.match(json.stderr, /npm install --no-save/);
  });
});
