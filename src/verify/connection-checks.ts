import { hostOf, relTime, type RunRecord } from '../analysis/run-record.js';
import type { Expectation } from '../lab/model.js';
import type { Check, Evidence } from './verdict.js';

/*
 * Claims about one connection's application side, read from the agent's events: the bytes it read
 * (`data` events) or had write() accept (`sent` events), and the peer an accepted connection came from.
 */

/** `received` / `sent`: the sum of the connection's `data` / `sent` events against the exact count or the bounds. */
export function checkByteCount(expectation: Extract<Expectation, { kind: 'received' | 'sent' }>, run: RunRecord): Check {
  const eventType = expectation.kind === 'received' ? 'data' : 'sent';
  const events = hostOf(run, expectation.host).events.filter(
    (e): e is Extract<typeof e, { type: 'data' | 'sent' }> => e.type === eventType && e.conn === expectation.conn,
  );
  const total = events.reduce((sum, e) => sum + e.bytes, 0);
  const bounds = [
    expectation.bytes !== undefined && `exactly ${expectation.bytes}`,
    expectation.min !== undefined && `at least ${expectation.min}`,
    expectation.max !== undefined && `at most ${expectation.max}`,
  ].filter((b): b is string => typeof b === 'string');
  const pass =
    (expectation.bytes === undefined || total === expectation.bytes) &&
    (expectation.min === undefined || total >= expectation.min) &&
    (expectation.max === undefined || total <= expectation.max);
  const what = expectation.kind === 'received' ? 'read by the application' : 'accepted by write()';
  const first = events[0];
  const last = events.at(-1);
  const evidence =
    first === undefined || last === undefined
      ? [`no ${eventType} event for ${expectation.conn} in ${expectation.host}'s agent events`]
      : [
          `${events.length} ${eventType} event(s) on ${expectation.conn}, ${relTime(run, first.timeUs)} to ${relTime(run, last.timeUs)}, ${total} bytes in all`,
          ...(events.length <= 8 ? events.map((e) => `${e.bytes} bytes at ${relTime(run, e.timeUs)}`) : []),
        ];
  const refs: Evidence[] = events.slice(0, 20).map((e) => ({ kind: 'event', host: expectation.host, timeUs: e.timeUs, event: e.type, conn: e.conn }));
  return {
    name: `${expectation.host}/${expectation.conn}: bytes ${what}`,
    status: pass ? 'pass' : 'fail',
    expected: `${bounds.join(' and ')} bytes`,
    observed: `${total} bytes`,
    evidence,
    refs,
  };
}

/** `accepted … from`: the accepted connection's peer address is the address of host `from`. */
export function checkAcceptedFrom(expectation: Extract<Expectation, { kind: 'accepted' }>, run: RunRecord): Check {
  const accepted = hostOf(run, expectation.host).events.find((e) => e.type === 'accepted' && e.conn === expectation.conn);
  const from = hostOf(run, expectation.from);
  const peerAddress = accepted?.type === 'accepted' ? accepted.remote.slice(0, accepted.remote.lastIndexOf(':')).replace(/^\[|\]$/g, '') : undefined;
  const peerHost = run.hosts.find((h) => h.address === peerAddress)?.name;
  const observed =
    accepted?.type !== 'accepted' ? `no connection ${expectation.conn} was accepted` : `from ${peerHost ?? 'an address of no lab host'} (${accepted.remote})`;
  return {
    name: `${expectation.host}/${expectation.conn} was accepted from ${expectation.from}`,
    status: peerAddress === from.address ? 'pass' : 'fail',
    expected: `from ${expectation.from} (${from.address})`,
    observed,
    evidence:
      accepted?.type === 'accepted'
        ? [`accept() at ${relTime(run, accepted.timeUs)}: ${accepted.local} ← ${accepted.remote}`]
        : [`${expectation.host}'s agent events hold no accept() named ${expectation.conn}`],
    refs: accepted === undefined ? [] : [{ kind: 'event', host: expectation.host, timeUs: accepted.timeUs, event: 'accepted', conn: expectation.conn }],
  };
}
