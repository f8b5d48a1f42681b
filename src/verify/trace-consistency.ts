import type { AgentEvent } from '../agent/protocol.js';
import { silentRequestTimeouts } from '../analysis/accept-queue.js';
import { isAddressOf, relTime, type RunHost, type RunRecord, stepsEndUs } from '../analysis/run-record.js';
import { segmentEndpoints } from '../analysis/run-sockets.js';
import { isLabSocket } from '../analysis/socket-timeline.js';
import type { KernelEvent } from '../observe/kernel-trace.js';
import { TcpFlag } from '../observe/packet.js';
import { parseTcpState, type TcpState } from '../tcp/state.js';
import { textCheck, type Check, type Evidence } from './verdict.js';
import { CONSISTENCY_WORDS, type ConsistencyWords } from '../messages/check-words/consistency-words.js';
import { say, type Text } from '../messages/text.js';
import type { Lang } from '../messages/catalog.js';

/*
 * The kernel's tracepoints (`<host>/kernel-events.jsonl`) against the captures and the samples of the same
 * run: one check per run with a trace. Each finding is a story two sources cannot both tell.
 * - A sampled row's state must be a state the trace gives the socket at some moment the row can describe
 *   ([readFromUs, timeUs], widened by TRACE_SLACK_US for the trace clock's mapping). Rows read before the
 *   tuple's first traced change are not judged (a request socket has no inet_sock_set_state), nor are
 *   listeners; after a change handed to a timewait socket (tcp_time_wait()) the row may show TIME_WAIT or
 *   FIN_WAIT_2, which that socket reports with no tracepoint of its own.
 * - A row's retransmission count cannot exceed the retransmission attempts the trace saw on its tuple by
 *   then: tcp_retransmit_timer() raises icsk_retransmits (tcp_update_rto_stats()) and then calls
 *   tcp_retransmit_skb(), whose tracepoint fires whether or not the copy left; a request's num_timeout is
 *   raised by the SYN-ACK timer, whose tcp_rtx_synack() fires tcp_retransmit_synack.
 * - A retransmitted SYN in a host's capture was sent by tcp_retransmit_skb() (a SYN_SENT socket has no
 *   other path to send its SYN again: tcp_retransmit_timer()), so the capture cannot hold more repeated
 *   SYNs of a traced tuple than the trace has retransmissions sent (error 0) on it.
 */

/** The trace-to-capture clock mapping error allowed on each side of a row's read window. */
export const TRACE_SLACK_US = 2_000;

type SocketRow = Extract<AgentEvent, { type: 'socket' }>;

interface Finding {
  readonly text: Text;
  readonly refs: readonly Evidence[];
}

/** The sentence in every language, from the words of consistency checks. */
function words(sentence: (w: ConsistencyWords, lang: Lang) => string): Text {
  return say(CONSISTENCY_WORDS, sentence);
}

/** The tracepoint consistency check of a run, or undefined when no host has a kernel trace. */
export function checkTraceConsistency(run: RunRecord): Check | undefined {
  const traced = run.hosts.filter((h) => h.kernelEvents !== undefined);
  if (traced.length === 0) return undefined;
  const untilUs = stepsEndUs(run);
  const findings: Finding[] = [];
  let judged = 0;
  for (const host of traced) {
    const events = host.kernelEvents ?? [];
    const rows = host.events.filter((e): e is SocketRow => e.type === 'socket' && isLabSocket(e.local) && !e.remote.endsWith(':0') && e.timeUs <= untilUs);
    for (const row of rows) {
      const ofTuple = events.filter((e) => e.local === row.local && e.remote === row.remote);
      if (ofTuple.length === 0) continue;
      judged++;
      const finding = rowAgainstTrace(run, host, row, ofTuple);
      if (finding !== undefined) findings.push(finding);
    }
    findings.push(...synRetransmitsAgainstTrace(run, host, events, untilUs));
  }
  const first = findings[0];
  return textCheck({
    name: words((w) => w.traceName),
    status: first === undefined ? 'pass' : 'fail',
    expected: words((w) => w.traceExpected),
    observed: first === undefined ? words((w) => w.traceJudged(judged)) : words((w, lang) => w.disagreements(findings.length, first.text[lang])),
    evidence: findings.slice(0, 20).map((f) => f.text),
    refs: findings.slice(0, 40).flatMap((f) => f.refs),
  });
}

function rowAgainstTrace(run: RunRecord, host: RunHost, row: SocketRow, ofTuple: readonly KernelEvent[]): Finding | undefined {
  const sampled = parseTcpState(row.state);
  const fromUs = (row.readFromUs ?? row.timeUs) - TRACE_SLACK_US;
  const toUs = row.timeUs + TRACE_SLACK_US;
  const changes = ofTuple.filter((e) => e.kind === 'state' && e.to !== undefined);
  const first = changes[0];
  const ref: Evidence = { kind: 'sample', host: host.name, timeUs: row.timeUs, socket: `${row.local} ${row.remote}`, state: row.state };
  if (sampled !== undefined && first !== undefined && toUs >= first.timeUs) {
    const before = changes.filter((e) => e.timeUs <= fromUs).at(-1);
    const during = changes.filter((e) => e.timeUs > fromUs && e.timeUs <= toUs);
    const possible = new Set<TcpState>([...(before?.to !== undefined ? [before.to] : []), ...during.flatMap((e) => (e.to === undefined ? [] : [e.to]))]);
    if (before === undefined && first.from !== undefined) possible.add(first.from);
    if ([before, ...during].some((e) => e?.handedToTimewait === true)) for (const state of ['TIME_WAIT', 'FIN_WAIT_2'] as const) possible.add(state);
    if (!possible.has(sampled)) {
      const line = (before ?? first).line;
      return {
        text: words((w) => w.rowStateNotTraced(host.name, row.local, row.remote, row.state, relTime(run, row.timeUs), [...possible], line)),
        refs: [ref],
      };
    }
  }
  const claimed = row.timer.retransmits;
  if (claimed <= 0) return undefined;
  const attempts = ofTuple.filter((e) => (e.kind === 'retransmit' || e.kind === 'synack-retransmit') && e.timeUs <= toUs).length;
  if (claimed <= attempts + silentRequestTimeouts(run, host.name, row)) return undefined;
  return {
    text: words((w) => w.rowCountsMoreThanTrace(host.name, row.local, row.remote, relTime(run, row.timeUs), claimed, attempts)),
    refs: [ref],
  };
}

function synRetransmitsAgainstTrace(run: RunRecord, host: RunHost, events: readonly KernelEvent[], untilUs: number): Finding[] {
  const findings: Finding[] = [];
  const syns = new Map<string, { frames: number[]; timesUs: number[] }>();
  for (const s of host.segments) {
    if (!isAddressOf(host, s.src) || (s.flags & (TcpFlag.SYN | TcpFlag.ACK | TcpFlag.RST)) !== TcpFlag.SYN || s.timeUs > untilUs) continue;
    const { src, dst } = segmentEndpoints(s);
    const key = `${src} ${dst} ${s.seq}`;
    const series = syns.get(key) ?? { frames: [], timesUs: [] };
    series.frames.push(s.frame);
    series.timesUs.push(s.timeUs);
    syns.set(key, series);
  }
  for (const [key, series] of syns) {
    const [local, remote] = key.split(' ');
    const ofTuple = events.filter((e) => e.local === local && e.remote === remote);
    if (ofTuple.length === 0 || series.frames.length < 2) continue;
    const sent = ofTuple.filter((e) => e.kind === 'retransmit' && (e.error ?? 0) === 0).length;
    const repeated = series.frames.length - 1;
    if (repeated <= sent) continue;
    findings.push({
      text: words((w) => w.synsNotRetransmitted(host.name, String(local), series.frames.length, series.frames, sent, repeated - sent)),
      // The repeats beyond what the trace sent are where the sources part.
      refs: series.frames.slice(sent + 1).map((frame): Evidence => ({ kind: 'segment', host: host.name, frame })),
    });
  }
  return findings;
}
