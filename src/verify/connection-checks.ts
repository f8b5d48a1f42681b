import { boundsText, withinBounds } from './count-bounds.js';
import { hostOf, relTime, type RunRecord } from '../analysis/run-record.js';
import type { Expectation } from '../lab/model.js';
import { RUN_WORDS, type RunWords } from '../messages/check-words/consistency-words.js';
import { say, type Text } from '../messages/text.js';
import { textCheck, type Check, type Evidence } from './verdict.js';

/*
 * Claims about one connection's application side, read from the agent's events: the bytes it read
 * (`data` events) or had write() accept (`sent` events), and the peer an accepted connection came from.
 */

/** The sentence in every language, from the words of the run's checks. */
function words(sentence: (w: RunWords) => string): Text {
  return say(RUN_WORDS, sentence);
}

/** `received` / `sent`: the sum of the connection's `data` / `sent` events against the exact count or the bounds. */
export function checkByteCount(expectation: Extract<Expectation, { kind: 'received' | 'sent' }>, run: RunRecord): Check {
  const eventType = expectation.kind === 'received' ? 'data' : 'sent';
  const events = hostOf(run, expectation.host).events.filter(
    (e): e is Extract<typeof e, { type: 'data' | 'sent' }> => e.type === eventType && e.conn === expectation.conn,
  );
  const total = events.reduce((sum, e) => sum + e.bytes, 0);
  const limits = { exactly: expectation.bytes, min: expectation.min, max: expectation.max };
  const bounds = boundsText(limits, 'and');
  const pass = withinBounds(total, limits);
  const first = events[0];
  const last = events.at(-1);
  const evidence =
    first === undefined || last === undefined
      ? [words((w) => w.noEvent(eventType, expectation.conn, expectation.host))]
      : [
          words((w) => w.events(events.length, eventType, expectation.conn, relTime(run, first.timeUs), relTime(run, last.timeUs), total)),
          ...(events.length <= 8 ? events.map((e) => words((w) => w.bytesAt(e.bytes, relTime(run, e.timeUs)))) : []),
        ];
  const refs: Evidence[] = events.slice(0, 20).map((e) => ({ kind: 'event', host: expectation.host, timeUs: e.timeUs, event: e.type, conn: e.conn }));
  return textCheck({
    name: words((w) => w.bytesName(expectation.host, expectation.conn, expectation.kind === 'received' ? w.readByApplication : w.acceptedByWrite)),
    status: pass ? 'pass' : 'fail',
    expected: say(RUN_WORDS, (w, lang) => w.bytes(bounds[lang])),
    observed: words((w) => w.bytes(String(total))),
    evidence,
    refs,
  });
}

/** `accepted … from`: the accepted connection's peer address is the address of host `from`. */
export function checkAcceptedFrom(expectation: Extract<Expectation, { kind: 'accepted' }>, run: RunRecord): Check {
  const accepted = hostOf(run, expectation.host).events.find((e) => e.type === 'accepted' && e.conn === expectation.conn);
  const from = hostOf(run, expectation.from);
  const peerAddress = accepted?.type === 'accepted' ? accepted.remote.slice(0, accepted.remote.lastIndexOf(':')).replace(/^\[|\]$/g, '') : undefined;
  const peerHost = run.hosts.find((h) => h.address === peerAddress)?.name;
  const observed = words((w) =>
    accepted?.type !== 'accepted'
      ? w.noConnectionAccepted(expectation.conn)
      : peerHost === undefined
        ? w.fromNoLabHost(accepted.remote)
        : w.fromHost(peerHost, accepted.remote),
  );
  return textCheck({
    name: words((w) => w.acceptedFromName(expectation.host, expectation.conn, expectation.from)),
    status: peerAddress === from.address ? 'pass' : 'fail',
    expected: words((w) => w.fromHost(expectation.from, from.address)),
    observed,
    evidence:
      accepted?.type === 'accepted'
        ? [words((w) => w.acceptAt(relTime(run, accepted.timeUs), accepted.local, accepted.remote))]
        : [words((w) => w.noAcceptNamed(expectation.host, expectation.conn))],
    refs: accepted === undefined ? [] : [{ kind: 'event', host: expectation.host, timeUs: accepted.timeUs, event: 'accepted', conn: expectation.conn }],
  });
}
