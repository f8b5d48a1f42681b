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
  'verdict.headline': '{verdict} {lab} ({seconds} s)',
  'verdict.pass': 'PASS',
  'verdict.fail': 'FAIL',
  'verdict.check': '{mark} {name}: expected {expected}; observed {observed}',
  'verdict.from': 'from {source}',
  'verdict.see': 'see {reference}',
  'verdict.runFolder': 'run folder: {dir}',
  'verdict.note': 'note: {note}',
  'verify.matches': 'recomputed verdict matches the stored verdict.json',
  'verify.differs': 'differs from the stored verdict.json:',
  'verify.noStored': 'no stored verdict.json to compare with',
  'verify.verdictDiffers': 'verdict: stored {stored}, recomputed {recomputed}',
  'verify.newCheck': 'new check: {name}',
  'verify.checkDiffers': '{name}: stored {stored} ({storedObserved}), recomputed {status} ({observed})',
  'verify.checkMissing': 'check missing from the recomputation: {name}',
  'run.step': 'step {n}: {description}',
  'run.stepFailed': 'step {n} failed: {error}',
  'run.retransmissions': ' (retransmissions: {n})',
  'run.notRun': 'not run',
  'run.swept':
    'removed what {runs} dead run(s) left: {containers} container(s), {networks} network(s), {hostRules} other host isolation rule(s), {tracingInstances} tracing instance(s)',
  'run.sweptEhash': '; put net.ipv4.tcp_child_ehash_entries back to its value before the run',
  'run.collecting': 'collecting captures, counters and snapshots; removing the lab',
  'run.snapshotFailed': 'a netstat snapshot failed: {reason}',
  'run.interrupted': 'interrupted; everything the run created has been removed',
  'run.drop.DROP': 'dropped',
  'run.drop.REJECT': 'rejected',
  'run.drop': '{verb} by rule {rule} on {host}',
  'run.maybeDrop': 'maybe {verb} by rule {rule} on {host} (-m {modules}: its counter decides)',
  'run.teardownFailed': 'teardown: could not {what}: {reason} (the next `tcplab run` or `tcplab clean` sweeps it)',
  'run.undo.network': 'remove network {name}',
  'run.undo.tracer': 'remove the tracing instance {dir}',
  'run.undo.container': 'remove container of {host}',
  'run.undo.agent': 'stop the agent on {host}',
  'run.undo.capture': 'stop tcpdump on {host}',
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
  'verdict.headline': '{verdict} {lab}（{seconds} 秒）',
  'verdict.pass': '通过',
  'verdict.fail': '失败',
  'verdict.check': '{mark} {name}：预期 {expected}；观察到 {observed}',
  'verdict.from': '出自 {source}',
  'verdict.see': '参见 {reference}',
  'verdict.runFolder': '运行目录：{dir}',
  'verdict.note': '注意：{note}',
  'verify.matches': '重新计算的判定与保存的 verdict.json 一致',
  'verify.differs': '与保存的 verdict.json 不一致：',
  'verify.noStored': '没有已保存的 verdict.json 可供比较',
  'verify.verdictDiffers': '判定：保存的为 {stored}，重新计算为 {recomputed}',
  'verify.newCheck': '新增的检查：{name}',
  'verify.checkDiffers': '{name}：保存的为 {stored}（{storedObserved}），重新计算为 {status}（{observed}）',
  'verify.checkMissing': '重新计算中没有的检查：{name}',
  'run.step': '第 {n} 步：{description}',
  'run.stepFailed': '第 {n} 步失败：{error}',
  'run.retransmissions': '（重传 {n} 次）',
  'run.notRun': '未执行',
  'run.swept': '已清除 {runs} 次中断的运行留下的：{containers} 个容器、{networks} 个网络、{hostRules} 条其他主机隔离规则、{tracingInstances} 个跟踪实例',
  'run.sweptEhash': '；已把 net.ipv4.tcp_child_ehash_entries 恢复为运行前的值',
  'run.collecting': '收集抓包、计数器和快照；移除实验环境',
  'run.snapshotFailed': 'netstat 快照失败：{reason}',
  'run.interrupted': '已中断；本次运行创建的一切均已移除',
  'run.drop.DROP': '丢弃',
  'run.drop.REJECT': '拒绝',
  'run.drop': '被 {host} 上的规则 {rule} {verb}',
  'run.maybeDrop': '可能被 {host} 上的规则 {rule} {verb}（-m {modules}：由其计数器决定）',
  'run.teardownFailed': '清理：未能{what}：{reason}（下一次 `tcplab run` 或 `tcplab clean` 会清除它）',
  'run.undo.network': '移除网络 {name}',
  'run.undo.tracer': '移除跟踪实例 {dir}',
  'run.undo.container': '移除 {host} 的容器',
  'run.undo.agent': '停止 {host} 上的 agent',
  'run.undo.capture': '停止 {host} 上的 tcpdump',
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
