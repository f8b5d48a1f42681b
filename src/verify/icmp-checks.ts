import { hostOf, relTime, type RunRecord } from '../analysis/run-record.js';
import type { Expectation } from '../lab/model.js';
import type { IcmpMessage } from '../observe/packet.js';
import { describeIcmp } from '../tcp/icmp-errors.js';
import { segmentRefs, type Check } from './verdict.js';

/** `icmp`: ICMP messages from → to in the sender's capture, of that type (and code when given), against the count or bounds. */
export function checkIcmp(expectation: Extract<Expectation, { kind: 'icmp' }>, run: RunRecord): Check {
  const from = hostOf(run, expectation.from);
  const to = hostOf(run, expectation.to);
  // The sender's capture: a message a rule drops on arrival was still sent.
  const sent = (from.icmp ?? []).filter((m) => m.src === from.address && m.dst === to.address);
  const matching = sent.filter((m) => m.type === expectation.type && (expectation.code === undefined || m.code === expectation.code));
  const others = sent.filter((m) => !matching.includes(m));
  const n = matching.length;
  const bounds = [
    expectation.count !== undefined && `exactly ${expectation.count}`,
    expectation.min !== undefined && `at least ${expectation.min}`,
    expectation.max !== undefined && `at most ${expectation.max}`,
  ].filter((b): b is string => typeof b === 'string');
  const pass =
    (expectation.count === undefined || n === expectation.count) &&
    (expectation.min === undefined || n >= expectation.min) &&
    (expectation.max === undefined || n <= expectation.max);
  const where = (m: IcmpMessage): string => `${expectation.from} capture #${m.frame} at ${relTime(run, m.timeUs)}: ${describeIcmp(m.type, m.code)}`;
  return {
    name: `${describeIcmp(expectation.type, expectation.code)} ${expectation.from} → ${expectation.to}`,
    status: pass ? 'pass' : 'fail',
    expected: bounds.join(', '),
    observed: `${n}${others.length > 0 ? `; ${others.length} other ICMP message(s) ${expectation.from} → ${expectation.to}` : ''}`,
    evidence: [
      ...(from.icmp === undefined ? [`${expectation.from}'s run folder was read without ICMP messages`] : []),
      ...matching.slice(0, 20).map(where),
      ...others.slice(0, 5).map((m) => `not counted (other type/code): ${where(m)}`),
    ],
    refs: segmentRefs(
      expectation.from,
      matching.map((m) => m.frame),
    ),
  };
}
