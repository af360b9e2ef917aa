/**
 * Argument parsing for every command, on Node's own `util.parseArgs` (strict: an unknown option
 * or a stray argument is an error). A usage error is a `UsageError`: the command prints its
 * message and a pointer to `--help` on stderr and exits with code 2, as argparse does.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;
type Values<O extends Options> = ReturnType<
  typeof parseArgs<{ options: O; strict: true; allowPositionals: false }>
>['values'];

/** A bad command line: exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The parsed options of `command`, or a `UsageError` that says what was wrong in plain words. */
export function parseOptions<O extends Options>(command: string, args: string[], options: O): Values<O> {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw new UsageError(`${command}: ${explain(e)}`);
  }
}

/** parseArgs's messages carry advice meant for other programs; these say what went wrong. */
function explain(e: unknown): string {
  const error = e as { code?: string; message?: string };
  const message = error.message ?? String(e);
  switch (error.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': {
      const option = /'([^']+)'/.exec(message)?.[1];
      return option ? `unknown option '${option}'` : message;
    }
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL': {
      const arg = /'([^']+)'/.exec(message)?.[1];
      return arg ? `unexpected argument '${arg}'` : message;
    }
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      const missing = /^Option '(?:-\w, )?(--[\w-]+) <value>' argument missing/.exec(message);
      if (missing) return `option '${missing[1]}' needs a value`;
      const extra = /^Option '(?:-\w, )?(--[\w-]+)' does not take an argument/.exec(message);
      if (extra) return `option '${extra[1]}' takes no value`;
      return message;
    }
    default:
      return message;
  }
}

/** A whole number in `[min, max]` from an option's text, or a `UsageError` naming the option. */
export function intOption(command: string, name: string, text: string, min: number, max: number): number {
  const n = /^\s*\d+\s*$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`${command}: --${name} expects a whole number from ${min} to ${max}, got '${text}'`);
  }
  return n;
}

/**
 * The values of a repeatable option, each of which may also be a comma-separated list. An empty
 * item (`--only ''`, `--only ,`, `--chapter 1,,2`) is a `UsageError`: dropping it would turn
 * `--only ''` into no filter at all, i.e. the whole run.
 */
export function listOption(command: string, name: string, what: string, values: string[] | undefined): string[] {
  return (values ?? []).flatMap((value) =>
    value.split(',').map((item) => {
      const v = item.trim();
      if (v === '') {
        throw new UsageError(`${command}: --${name} expects ${what} (or several, comma-separated), got '${value}'`);
      }
      return v;
    }),
  );
}
