/**
 * What every chapter of the demo gets: the options, the output, and `check()`, which prints a
 * self-check and records it. A chapter returns its measurements (for `--json`); a failed check
 * makes the command exit 1, and so does a chapter that throws.
 */
import type { Output } from '../output.js';

export interface DemoOptions {
  /** Threads for the chapters' work (default: the machine's cores). */
  threads: number;
  /** Smaller work, fewer requests: a few seconds in all. */
  quick: boolean;
}

export interface CheckRecord {
  ok: boolean;
  what: string;
}

export class Context {
  readonly checks: CheckRecord[] = [];

  constructor(
    readonly out: Output,
    readonly options: DemoOptions,
  ) {}

  /** Records and prints a self-check; returns `ok`. */
  check(ok: boolean, what: string): boolean {
    this.checks.push({ ok, what });
    this.out.check(ok, what);
    return ok;
  }

  /** `full` normally, `quick` under `--quick`. */
  size<T>(full: T, quick: T): T {
    return this.options.quick ? quick : full;
  }
}

export interface Chapter {
  number: number;
  title: string;
  run(ctx: Context): Promise<Record<string, unknown>>;
}

/** Milliseconds since `t0`, rounded for display. */
export function since(t0: number): number {
  return performance.now() - t0;
}

export function ms(x: number): string {
  return `${x < 10 ? x.toFixed(1) : x.toFixed(0)} ms`;
}

export function int(x: number): string {
  return x.toLocaleString('en-US');
}

/** The `q`-quantile (0..1) of `sorted` (ascending), by linear interpolation. */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** A promise that resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
