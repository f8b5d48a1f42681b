import { RECEIVE_CHAINS, SEND_CHAINS } from '../../analysis/rule-timeline.js';
import { formatRelativeSeconds } from '../time-format.js';
import { line, plural, timeOfArrow, type CommentaryLine, type Context, type Text } from './commentary-text.js';

/* Rules: when each iptables rule went in and out, and what it matched, from the analysis' rule timeline. */

/** Rule events and, per rule, what it dropped (the timeline's counters and attributions). */
export function describeRules(context: Context): CommentaryLine[] {
  const { record, model, rel } = context;
  const lines: CommentaryLine[] = [];
  for (const mark of model.marks) {
    if (mark.kind === 'rule-added') {
      const t = formatRelativeSeconds(mark.timeUs);
      lines.push(
        line(mark.timeUs, 'rule', {
          en: `rule ${mark.rule} added on ${mark.host} at ${t}: iptables ${mark.text}`,
          zh: `${t} 在 ${mark.host} 上添加规则 ${mark.rule}：iptables ${mark.text}`,
        }),
      );
    } else if (mark.kind === 'rule-removed') {
      const t = formatRelativeSeconds(mark.timeUs);
      lines.push(line(mark.timeUs, 'rule', { en: `rule ${mark.rule} removed from ${mark.host} at ${t}`, zh: `${t} 从 ${mark.host} 上删除规则 ${mark.rule}` }));
    }
  }
  const rules = [...context.analysis.rules.rules].sort((x, y) => x.labOrder - y.labOrder);
  for (const rule of rules) {
    const added = record.steps.find((s) => s.index === rule.labOrder);
    if (added === undefined) continue;
    const { counter, parsed } = rule;
    const step = { name: rule.name, host: rule.host };
    const matched = model.arrows.filter((a) => a.fate.kind === 'dropped' && a.fate.rule === step.name && a.fate.host === step.host);
    const lastMatched = matched[matched.length - 1];
    const timeUs =
      lastMatched !== undefined
        ? (lastMatched.arriveUs ?? timeOfArrow(lastMatched)) + 1
        : rule.untilUs !== Infinity
          ? rel(rule.untilUs)
          : rel(added.startUs) + 1;
    const counted: Text =
      counter === undefined ? { en: 'no counter recorded', zh: '没有记录计数器' } : { en: `counter ${counter.pkts}`, zh: `计数器 ${counter.pkts}` };
    let text: Text;
    if (SEND_CHAINS.has(parsed.chain)) {
      text =
        counter === undefined
          ? {
              en: `rule ${step.name} on ${step.host} (${parsed.chain}): no counter recorded, so the segments it dropped before capture cannot be counted`,
              zh: `${step.host} 上的规则 ${step.name}（${parsed.chain}）：没有记录计数器，无法统计它在抓包之前丢弃的报文段`,
            }
          : {
              en: `rule ${step.name} on ${step.host} (${parsed.chain}) matched ${plural(counter.pkts, 'segment')} (counter ${counter.pkts}); they were dropped before ${step.host}'s capture, so no arrow shows them`,
              zh: `${step.host} 上的规则 ${step.name}（${parsed.chain}）共匹配 ${counter.pkts} 个报文段（计数器 ${counter.pkts}）；它们在 ${step.host} 抓包之前就被丢弃，图中没有对应的箭头`,
            };
    } else if (RECEIVE_CHAINS.has(parsed.chain)) {
      const disagree = counter !== undefined && counter.pkts !== matched.length;
      text = {
        en: `rule ${step.name} on ${step.host} matched ${plural(matched.length, 'segment')} (${counted.en})${disagree ? '; the counter and the capture disagree' : ''}`,
        zh: `${step.host} 上的规则 ${step.name} 共匹配 ${matched.length} 个报文段（${counted.zh}）${disagree ? '；计数器与抓包不一致' : ''}`,
      };
    } else {
      text = {
        en: `rule ${step.name} on ${step.host} (${parsed.chain}): ${counted.en}`,
        zh: `${step.host} 上的规则 ${step.name}（${parsed.chain}）：${counted.zh}`,
      };
    }
    lines.push(line(timeUs, 'rule', text, { arrowId: lastMatched?.id }));
  }
  return lines;
}
