import { boundsText, withinBounds } from './count-bounds.js';
import { hostOf, relTime, type RunRecord } from '../analysis/run-record.js';
import type { Expectation } from '../lab/model.js';
import type { IcmpMessage } from '../observe/packet.js';
import { describeIcmp } from '../messages/icmp-words.js';
import { EXPECTATION_WORDS } from '../messages/check-words/expectation-words.js';
import { RUN_WORDS } from '../messages/check-words/consistency-words.js';
import { say, type Text } from '../messages/text.js';
import { segmentRefs, textCheck, type Check } from './verdict.js';

/** `icmp`: ICMP messages from → to in the sender's capture, of that type (and code when given), against the count or bounds. */
export function checkIcmp(expectation: Extract<Expectation, { kind: 'icmp' }>, run: RunRecord): Check {
  const from = hostOf(run, expectation.from);
  const to = hostOf(run, expectation.to);
  // The sender's capture: a message a rule drops on arrival was still sent.
  const sent = (from.icmp ?? []).filter((m) => m.src === from.address && m.dst === to.address);
  const matching = sent.filter((m) => m.type === expectation.type && (expectation.code === undefined || m.code === expectation.code));
  const others = sent.filter((m) => !matching.includes(m));
  const n = matching.length;
  const limits = { exactly: expectation.count, min: expectation.min, max: expectation.max };
  const bounds = boundsText(limits, 'list');
  const pass = withinBounds(n, limits);
  const where = (m: IcmpMessage): Text =>
    say(RUN_WORDS, (w, lang) =>
      w.icmpAt(EXPECTATION_WORDS[lang].captureFrameAt(expectation.from, m.frame, relTime(run, m.timeUs)), describeIcmp(m.type, m.code, 4, lang)),
    );
  return textCheck({
    name: say(RUN_WORDS, (w, lang) => w.icmpName(describeIcmp(expectation.type, expectation.code, 4, lang), expectation.from, expectation.to)),
    status: pass ? 'pass' : 'fail',
    expected: bounds,
    observed: say(RUN_WORDS, (w) => w.icmpObserved(n, others.length, expectation.from, expectation.to)),
    evidence: [
      ...(from.icmp === undefined ? [say(RUN_WORDS, (w) => w.noIcmpRead(expectation.from))] : []),
      ...matching.slice(0, 20).map(where),
      ...others.slice(0, 5).map((m) => say(RUN_WORDS, (w, lang) => w.otherTypeCode(where(m)[lang]))),
    ],
    refs: segmentRefs(
      expectation.from,
      matching.map((m) => m.frame),
    ),
  });
}
