import type { Lang } from './catalog.js';
import type { Check, CheckLines } from '../verify/verdict.js';

/*
 * A sentence in every language. Checks are built once per run and read in English (verdict.json, --json,
 * JUnit) and in the reader's language (terminal, report): each part of a check is a Text, made from a
 * words table (src/messages/check-words/) so the words stay apart from the logic that picks them.
 */

export type Text = Readonly<Record<Lang, string>>;

export const LANGS: readonly Lang[] = ['en', 'zh'];

/** The same in every language: numbers, state names, flags, addresses, times. */
export function same(value: string | number): Text {
  return { en: String(value), zh: String(value) };
}

/** The sentence `words` gives in each language: `say(EXPECTATION_WORDS, (w) => w.neverIn(states))`. */
export function say<W>(words: Readonly<Record<Lang, W>>, sentence: (w: W, lang: Lang) => string): Text {
  return { en: sentence(words.en, 'en'), zh: sentence(words.zh, 'zh') };
}

/**
 * `client capture #3`: a frame of a host's capture.pcap, in `lang` (report.html links these words to the ladder's arrow,
 * html-report.ts linkCaptureReferences()).
 */
export const CAPTURE_FRAME: Readonly<Record<Lang, (host: string, frame: number | undefined) => string>> = {
  en: (host, frame) => `${host} capture #${frame}`,
  zh: (host, frame) => `${host} 抓包 #${frame}`,
};

/** Texts joined language by language. */
export function joinTexts(parts: readonly Text[], separator: Text | string): Text {
  const sep = typeof separator === 'string' ? same(separator) : separator;
  return { en: parts.map((p) => p.en).join(sep.en), zh: parts.map((p) => p.zh).join(sep.zh) };
}

/** A Text transformed the same way in every language (a prefix, a bracket). */
export function mapText(text: Text, f: (value: string, lang: Lang) => string): Text {
  return { en: f(text.en, 'en'), zh: f(text.zh, 'zh') };
}

/** What a person reads of `check` in `lang`: its Chinese words when it has them, else its English ones. */
export function checkLines(check: Check, lang: Lang): CheckLines {
  if (lang === 'zh' && check.zh !== undefined) return check.zh;
  return { name: check.name, expected: check.expected, observed: check.observed, evidence: check.evidence };
}
