import { MAX_DURATION_MS } from './lab-limits.js';
import type { Millis } from './model.js';
import { quote } from './quote-token.js';

/** The text form of a duration (also the JSON Schema pattern of the string form). */
export const DURATION_PATTERN = /^(\d+(?:\.\d+)?)\s*(ms|s|m)?$/;

export type DurationParse = { readonly ok: true; readonly ms: Millis } | { readonly ok: false; readonly message: string };

/**
 * Parses a lab duration: `500ms`, `2s`, `1.5s`, `2m`, or a bare number (string or YAML number) of seconds.
 * Durations in lab files are positive and at most MAX_DURATION_MS (1 h); others are rejected with a remedy.
 */
export function parseDuration(value: unknown): DurationParse {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value <= 0) {
      return { ok: false, message: `expected a positive duration, received ${String(value)}; write e.g. 500ms, 2s, 1.5s, 2m or a positive number of seconds` };
    }
    return checkMaximum(Math.round(value * 1000), String(value));
  }
  if (typeof value !== 'string') {
    return { ok: false, message: `expected a duration such as 500ms, 2s, 1.5s or 2m, received ${describeValue(value)}` };
  }
  const match = DURATION_PATTERN.exec(value.trim());
  if (match === null && /^-\s*\d/.test(value.trim())) {
    return { ok: false, message: `expected a positive duration, received ${quote(value)}; durations cannot be negative, write e.g. 1s` };
  }
  if (match === null) {
    return {
      ok: false,
      message: `expected a duration such as 500ms, 2s, 1.5s or 2m, received ${quote(value)}; units are ms, s and m (a bare number means seconds)`,
    };
  }
  const amount = Number(match[1]);
  const unit = match[2] ?? 's';
  const ms = Math.round(unit === 'ms' ? amount : unit === 's' ? amount * 1000 : amount * 60_000);
  if (ms <= 0) {
    return { ok: false, message: `expected a positive duration, received ${quote(value)}; write at least 1ms` };
  }
  return checkMaximum(ms, quote(value));
}

function checkMaximum(ms: number, shown: string): DurationParse {
  if (ms > MAX_DURATION_MS) {
    return { ok: false, message: `a duration is at most ${MAX_DURATION_MS / 60_000}m (${MAX_DURATION_MS / 1000}s), received ${shown}; write e.g. 90s or 10m` };
  }
  return { ok: true, ms };
}

/** Short description of a received value for messages: `"abc" (a string)`, `12 (a number)`, `a mapping`. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null (an empty value)';
  if (typeof value === 'string') return `${quote(value)} (a string)`;
  if (typeof value === 'number') return `${value} (a number)`;
  if (typeof value === 'boolean') return `${value} (a boolean)`;
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return typeof value;
}
