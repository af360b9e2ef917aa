/**
 * How the command speaks. Three modes, chosen once per run:
 * - `tty`: stdout is a terminal and no `CI` variable is set: headings in bold, checks in colour,
 *   live progress bars (cli-progress) and boxed tables (cli-table3).
 * - `plain`: piped, redirected, or under CI (or `NO_COLOR`/`TERM=dumb`): the same content as
 *   plain lines, with no escape code anywhere, so logs and tests read it as text.
 * - `json`: nothing human on stdout; the command prints one JSON document at the end.
 *
 * The two libraries are the command's own runtime dependencies; the library (`dist/index.js`)
 * never imports this file.
 */
import { SingleBar } from 'cli-progress';
import Table from 'cli-table3';

export type Mode = 'tty' | 'plain' | 'json';

/** The mode for this process's stdout: `json` when asked, else `tty` only on an interactive terminal outside CI. */
export function detectMode(json: boolean, env: NodeJS.ProcessEnv = process.env): Mode {
  if (json) return 'json';
  const interactive = process.stdout.isTTY === true && !env.CI && !env.NO_COLOR && env.TERM !== 'dumb';
  return interactive ? 'tty' : 'plain';
}

export type Align = 'left' | 'right';

export interface Column {
  head: string;
  align?: Align;
}

/** A running progress bar: `tick()` once per finished unit, `stop()` at the end (also after an error). */
export interface Progress {
  tick(n?: number): void;
  stop(): void;
}

const ESC = '\u001b[';
const style = {
  bold: (s: string) => `${ESC}1m${s}${ESC}22m`,
  dim: (s: string) => `${ESC}2m${s}${ESC}22m`,
  green: (s: string) => `${ESC}32m${s}${ESC}39m`,
  red: (s: string) => `${ESC}31m${s}${ESC}39m`,
};

/** cli-table3's border set for plain mode: columns two spaces apart, one dashed line under the head. */
const PLAIN_CHARS = {
  top: '',
  'top-mid': '',
  'top-left': '',
  'top-right': '',
  bottom: '',
  'bottom-mid': '',
  'bottom-left': '',
  'bottom-right': '',
  left: '',
  'left-mid': '',
  mid: '-',
  'mid-mid': '  ',
  right: '',
  'right-mid': '',
  middle: '  ',
};

export class Output {
  readonly mode: Mode;
  readonly #write: (text: string) => void;

  constructor(mode: Mode, write: (text: string) => void = (text) => process.stdout.write(text)) {
    this.mode = mode;
    this.#write = write;
  }

  get quiet(): boolean {
    return this.mode === 'json';
  }

  /** One or more lines of text, as they are. */
  line(text = ''): void {
    if (!this.quiet) this.#write(`${text}\n`);
  }

  /** A chapter or section heading. */
  heading(text: string): void {
    if (this.mode === 'tty') this.line(`\n${style.bold(`━━ ${text} ━━`)}`);
    else this.line(`\n== ${text} ==`);
  }

  /** An explanatory paragraph: dim on a terminal. */
  note(text: string): void {
    for (const l of text.split('\n')) this.line(this.mode === 'tty' ? style.dim(`  ${l}`) : `  ${l}`);
  }

  /** A measured fact. */
  fact(text: string): void {
    this.line(`  ${text}`);
  }

  /** The outcome of a self-check. */
  check(ok: boolean, text: string): void {
    if (this.mode === 'tty') this.line(`  ${ok ? style.green('✔') : style.red('✘')} ${text}`);
    else this.line(`  ${ok ? 'ok  ' : 'FAIL'} ${text}`);
  }

  /** A table: boxed on a terminal, aligned columns otherwise. */
  table(columns: Column[], rows: (string | number)[][]): void {
    if (this.quiet) return;
    const tty = this.mode === 'tty';
    const table = new Table({
      head: columns.map((c) => c.head),
      colAligns: columns.map((c) => c.align ?? 'left'),
      style: tty
        ? { head: ['bold'], border: ['grey'], compact: true }
        : { head: [], border: [], compact: true, 'padding-left': 0, 'padding-right': 0 },
      ...(tty ? {} : { chars: PLAIN_CHARS }),
    });
    for (const r of rows) table.push(r.map(String));
    const text = table
      .toString()
      .split('\n')
      // Plain mode: cli-table3 pads the last column; the indent matches the other lines.
      .map((l) => `  ${tty ? l : l.replace(/ +$/, '')}`)
      .join('\n');
    this.line(text);
  }

  /**
   * A progress bar over `total` units. On a terminal it redraws in place; in plain mode it prints
   * one line when it stops; in json mode nothing.
   */
  progress(label: string, total: number, unit: string): Progress {
    const started = performance.now();
    let done = 0;
    if (this.mode === 'tty') {
      const bar = new SingleBar({
        format: `  ${label} {bar} {percentage}% | {value}/{total} ${unit} | {duration_formatted}`,
        barCompleteChar: '█',
        barIncompleteChar: '░',
        barsize: 30,
        hideCursor: true,
        stream: process.stdout,
        fps: 15,
      });
      bar.start(total, 0);
      let stopped = false;
      return {
        tick: (n = 1) => bar.increment(n),
        stop: () => {
          if (stopped) return;
          stopped = true;
          bar.stop();
        },
      };
    }
    let stopped = false;
    return {
      tick: (n = 1) => {
        done += n;
      },
      stop: () => {
        if (stopped) return;
        stopped = true;
        const ms = performance.now() - started;
        this.line(`  ${label} ${done}/${total} ${unit} in ${ms.toFixed(0)} ms`);
      },
    };
  }
}

/**
 * A horizontal bar chart of ratios around 1x, one row a line, on a log2 scale: a bar to the right
 * of the axis means threadkit does better than the reference by that factor, to the left worse.
 * Rows with a `group` are listed under a line naming it, once per run of equal groups. `width` is
 * the number of cells on each side; a bar longer than the scale ends in an arrow.
 */
export function ratioChart(
  rows: { group?: string; label: string; factor: number; text: string }[],
  { width = 20, mode }: { width?: number; mode: Mode },
): string[] {
  const finite = rows.filter((r) => Number.isFinite(r.factor) && r.factor > 0);
  const maxLog = Math.max(1, ...finite.map((r) => Math.abs(Math.log2(r.factor))));
  // A whole number of powers of two per side keeps the scale readable; at most 2^6 = 64x.
  const span = Math.min(Math.ceil(maxLog), 6);
  const perCell = span / width;
  const grouped = rows.some((r) => r.group !== undefined);
  const indent = grouped ? '  ' : '';
  const labelWidth = Math.max(0, ...rows.map((r) => r.label.length)) + indent.length;
  const tty = mode === 'tty';
  const full = tty ? '█' : '#';
  const axis = tty ? '│' : '|';
  const [more, less] = tty ? ['›', '‹'] : ['>', '<'];
  const lines = [
    `${' '.repeat(labelWidth)}  ${`${2 ** span}x worse`.padEnd(width)}${axis}${`${2 ** span}x better`.padStart(width)}`,
  ];
  let group: string | undefined;
  for (const r of rows) {
    if (r.group !== undefined && r.group !== group) lines.push(r.group);
    group = r.group;
    let left = ' '.repeat(width);
    let right = ' '.repeat(width);
    if (Number.isFinite(r.factor) && r.factor > 0) {
      const log = Math.log2(r.factor);
      // At least one cell for anything but exactly 1x, so a small difference still shows its side.
      const cells = Math.min(width, Math.max(log === 0 ? 0 : 1, Math.round(Math.abs(log) / perCell)));
      const over = Math.abs(log) > span;
      const bar = full.repeat(cells);
      if (log >= 0) right = (over ? `${bar.slice(1)}${more}` : bar).padEnd(width);
      else left = (over ? `${less}${bar.slice(1)}` : bar).padStart(width);
    }
    let barText = `${left}${axis}${right}`;
    if (tty && r.factor > 0) barText = r.factor >= 1 ? style.green(barText) : style.red(barText);
    lines.push(`${`${indent}${r.label}`.padEnd(labelWidth)}  ${barText}  ${r.text}`);
  }
  return lines;
}
