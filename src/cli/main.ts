#!/usr/bin/env node
/**
 * The `threadkit` command (package.json `bin`): `threadkit demo` and `threadkit bench`.
 *
 * Exit codes: 0 when everything ran and every self-check passed; 1 when a check or a scenario
 * failed; 2 for a bad command line (unknown command or option, bad value), as argparse does.
 */
import { readFileSync } from 'node:fs';
import { UsageError } from './args.js';
import { benchCommand } from './bench.js';
import { demoCommand } from './demo/index.js';

const USAGE = `usage: threadkit <command> [options]

Python's threading toolkit for TypeScript on Node.js, on real threads.

commands:
  demo     a guided, self-checking tour in four chapters: threads, the threading
           primitives, pools (CPU work over every core, a pooled TCP server), tricks
  bench    threadkit side by side with piscina, tinypool, workerpool and the raw
           worker_threads / Atomics floors: medians, ratios and a chart

Run 'threadkit <command> --help' for a command's options.
  -h, --help       show this help
  -v, --version    print threadkit's version`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'demo':
      return demoCommand(rest);
    case 'bench':
      return benchCommand(rest);
    case '-h':
    case '--help':
    case 'help':
      console.log(USAGE);
      return 0;
    case '-v':
    case '--version':
      console.log(version());
      return 0;
    case undefined:
      throw new UsageError('threadkit: a command is required (demo or bench)');
    default:
      throw new UsageError(
        command.startsWith('-')
          ? `threadkit: unknown option '${command}'`
          : `threadkit: unknown command '${command}' (the commands are demo and bench)`,
      );
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    // Not process.exit(): the output may still be draining into a pipe.
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof UsageError) {
      const command = /^threadkit (\w+):/.exec(e.message)?.[1];
      console.error(`${e.message}\nRun 'threadkit${command ? ` ${command}` : ''} --help' for usage.`);
      process.exitCode = 2;
      return;
    }
    console.error(e instanceof Error ? (e.stack ?? e.message) : e);
    process.exitCode = 1;
  },
);
