import { MAX_QUOTED_CHARS, clip, quote } from './quote-token.js';
/** One thing wrong with a lab file or a `--set` override, located for an editor (1-based line/col). */
export interface LabProblem {
  /** The file as the user named it, or `--set` for an override argument. */
  readonly file: string;
  readonly line: number;
  readonly col: number;
  /** Where in the lab the problem is, e.g. `steps[2].connect.port`; `(document)` for the whole file. */
  readonly path: string;
  readonly message: string;
}

/**
 * The one error class of lab loading: every problem found (not only the first), each with a position.
 * The CLI prints `formatProblems()` without a stack trace and exits 2.
 */
export class LabError extends Error {
  readonly problems: readonly LabProblem[];

  constructor(problems: readonly LabProblem[]) {
    super(formatProblems(problems));
    this.name = 'LabError';
    this.problems = problems;
  }

  /** One line per problem: `file:line:col: path: message`. */
  formatProblems(): string {
    return formatProblems(this.problems);
  }
}

/** Renders problems one per line as `file:line:col: path: message` (the format editors and CI annotators parse). */
export function formatProblems(problems: readonly LabProblem[]): string {
  // messages quote tokens through quote(); this cap is only a last guard against a message that forgot to
  return problems.map((p) => clip(`${p.file}:${p.line}:${p.col}: ${p.path}: ${p.message}`, MAX_PROBLEM_LINE_CHARS)).join('\n');
}

/** No problem line is longer than this (the longest real messages, listing every step kind, are about 300). */
export const MAX_PROBLEM_LINE_CHARS = 1000;

/** Paths longer than this (a deeply nested hostile file) are cut with an ellipsis. */
export const MAX_PATH_CHARS = 160;

/** Renders a path like `steps[2].connect.port`; keys that are not plain words are quoted: `sysctls["net.ipv4.x"]`. */
export function formatLabPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else {
      const key = String(segment);
      if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(key) && key.length <= MAX_QUOTED_CHARS) out += out === '' ? key : `.${key}`;
      else out += `[${quote(key)}]`;
    }
  }
  return out === '' ? '(document)' : clip(out, MAX_PATH_CHARS);
}

/** Suggests the closest candidate (edit distance ≤ 2, or ≤ a third of the length) for a misspelt name. */
export function suggestClosest(received: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(received.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  if (best === undefined) return undefined;
  return bestDistance <= Math.max(2, Math.floor(received.length / 3)) && bestDistance < received.length ? best : undefined;
}

/** ` (did you mean "x"?)` or the empty string. */
export function didYouMean(received: string, candidates: Iterable<string>): string {
  const suggestion = suggestClosest(received, candidates);
  return suggestion === undefined ? '' : ` (did you mean ${quote(suggestion)}?)`;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
