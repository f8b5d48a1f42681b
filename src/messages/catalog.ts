import { HTML_WORDS } from './html-words.js';
import { LAB_WORDS } from './lab-words.js';

/*
 * The message catalog: the words of the reports (and, as they move here, the CLI), one table per language.
 * A message is a template with `{name}` placeholders. catalogProblems() is the rule every catalog keeps:
 * each key exists in every language, with the same placeholders (test/unit/messages/catalog.test.ts).
 */

export type Lang = 'en' | 'zh';

const EN = {
  'commentary.title': 'What happened',
  'commentary.titleSeparator': ': ',
  'commentary.verdict': ' — {verdict}',
  'commentary.verdict.pass': 'PASS',
  'commentary.verdict.fail': 'FAIL',
  'commentary.firstDeparture': '  ← first departure from the model',
  'commentary.empty': '(nothing to tell: the run recorded no segments, states or events)',
  'show.source': 'source: {source}',
  'show.hosts': 'hosts:',
  'show.steps': 'steps:',
  'show.expects': 'expects:',
} as const;

export type MessageKey = keyof typeof EN;

const ZH: Record<MessageKey, string> = {
  'commentary.title': '过程解说',
  'commentary.titleSeparator': '：',
  'commentary.verdict': ' — {verdict}',
  'commentary.verdict.pass': '通过',
  'commentary.verdict.fail': '失败',
  'commentary.firstDeparture': '  ← 观察首次偏离模型',
  'commentary.empty': '（本次运行没有可解说的内容）',
  'show.source': '出处：{source}',
  'show.hosts': '主机：',
  'show.steps': '步骤：',
  'show.expects': '预期：',
};

/** Every catalog of the reports, by name and language: what catalogProblems() checks. */
export const CATALOGS: Readonly<Record<string, Readonly<Record<Lang, Readonly<Record<string, unknown>>>>>> = {
  messages: { en: EN, zh: ZH },
  'html-words': HTML_WORDS,
  'lab-steps': { en: LAB_WORDS.en.steps, zh: LAB_WORDS.zh.steps },
  'lab-expectations': { en: LAB_WORDS.en.expectations, zh: LAB_WORDS.zh.expectations },
};

/** The message `key` in `lang`, its `{name}` placeholders filled from `params`. */
export function message(lang: Lang, key: MessageKey, params: Readonly<Record<string, string | number>> = {}): string {
  const template: string = lang === 'zh' ? ZH[key] : EN[key];
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
}

/** One line per key missing from a language, or whose placeholders differ between languages. */
export function catalogProblems(catalogs: Readonly<Record<string, Readonly<Record<string, Readonly<Record<string, unknown>>>>>>): string[] {
  const problems: string[] = [];
  for (const [name, byLang] of Object.entries(catalogs)) {
    const langs = Object.keys(byLang);
    const keys = new Set(langs.flatMap((lang) => Object.keys(byLang[lang] ?? {})));
    for (const key of keys) {
      const present = langs.filter((lang) => byLang[lang] !== undefined && key in (byLang[lang] as object));
      for (const lang of langs.filter((l) => !present.includes(l))) problems.push(`${name}: "${key}" exists in ${present.join(', ')} but not in ${lang}`);
      const placeholders = present.map((lang) => {
        const value = (byLang[lang] as Record<string, unknown>)[key];
        return typeof value === 'string'
          ? [...value.matchAll(/\{(\w+)\}/g)]
              .map((m) => m[1])
              .sort()
              .join(',')
          : typeof value;
      });
      if (new Set(placeholders).size > 1)
        problems.push(`${name}: "${key}" has different placeholders by language (${present.map((l, i) => `${l}: ${placeholders[i]}`).join('; ')})`);
    }
  }
  return problems;
}
