import { EXPECTATION_WORDS } from '../messages/check-words/expectation-words.js';
import { say, type Text } from '../messages/text.js';

/** The bounds of a count claim (segments, ICMP messages, bytes, sockets at once): exactly, at least, at most. */
export interface CountBounds {
  readonly exactly?: number | undefined;
  readonly min?: number | undefined;
  readonly max?: number | undefined;
}

/** Whether `n` is within every bound given. */
export function withinBounds(n: number, { exactly, min, max }: CountBounds): boolean {
  return (exactly === undefined || n === exactly) && (min === undefined || n >= min) && (max === undefined || n <= max);
}

/** `exactly 3`, `at least 2 and at most 5`: the bounds in every language, joined by `and` or as a list, `more` after them. */
export function boundsText({ exactly, min, max }: CountBounds, joiner: 'and' | 'list', more: readonly Text[] = []): Text {
  return say(EXPECTATION_WORDS, (w, lang) =>
    [
      ...(exactly === undefined ? [] : [w.exactly(exactly)]),
      ...(min === undefined ? [] : [w.atLeast(min)]),
      ...(max === undefined ? [] : [w.atMost(max)]),
      ...more.map((t) => t[lang]),
    ].join(joiner === 'and' ? w.and : w.listSeparator),
  );
}
