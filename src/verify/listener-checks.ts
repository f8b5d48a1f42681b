import type { AgentEvent } from '../agent/protocol.js';
import type { RunAnalysis } from '../analysis/analyze-run.js';
import { listenerRefusals, type AcceptQueueRefusal } from '../analysis/accept-queue.js';
import { ruleDropOf, SEND_CHAINS } from '../analysis/rule-timeline.js';
import { isAddressOf, relTime, type RunHost, type RunRecord, stepsEndUs } from '../analysis/run-record.js';
import { segmentEndpoints } from '../analysis/run-sockets.js';
import { listenStepBacklog, synQueueReadings } from '../analysis/sampled-reads.js';
import { isPureSyn } from '../analysis/syn-ack-replies.js';
import { TcpFlag, type TcpSegment } from '../observe/packet.js';
import { segmentRefs, textCheck, type Check } from './verdict.js';
import { CONFORMANCE_WORDS, type ConformanceWords } from '../messages/check-words/conformance-words.js';
import { joinTexts, say, type Text } from '../messages/text.js';
import type { Lang } from '../messages/catalog.js';

/*
 * A listener answers every connection attempt that reaches its TCP: tcp_v4_rcv() hands a SYN for a LISTEN
 * socket to tcp_conn_request(), which sends a SYN-ACK (a cookie one when the SYN queue is full and
 * tcp_syncookies allows it); with no listener on the port, tcp_v4_send_reset() answers with a RST. The
 * kernel keeps silent only where tcp_conn_request() drops the SYN:
 * - the accept queue is full (sk_acceptq_is_full(): LISTENOVERFLOWS; analysis/accept-queue.ts);
 * - the SYN queue is full and syncookies are off (inet_csk_reqsk_queue_is_full(), or with
 *   tcp_syncookies=0 more than ¾ of tcp_max_syn_backlog in use) — judged from the host's SYN_RECV samples;
 * and a firewall rule can drop the SYN before TCP (rule-timeline.ts: then it never reached it) or the
 * answer after it (a send-chain DROP/REJECT: the capture, tapped after netfilter, never sees it).
 *
 * An attempt is the SYNs of one 4-tuple and one initial sequence number, from an address of a lab host (a
 * spoofed source may have no route back), on a tuple the host's capture had not carried before (a SYN on
 * a live or timewait tuple is answered by tcp_timewait_state_process() or a rate-limited challenge ACK).
 * It is answered when either capture shows a SYN-ACK or RST back on that tuple, or the host sampled a
 * socket of the tuple (a request sends its SYN-ACK when made). Attempts whose first SYN came in the
 * last ANSWER_WINDOW_US of the experiment are not judged. One check per listen step that received
 * an attempt; it fails on an attempt that is unanswered with none of the causes above.
 */

/** How long after a SYN its answer may still come (the SYN-ACK is sent in the SYN's own softirq). */
const ANSWER_WINDOW_US = 200_000;

const REFERENCE = 'tcp_conn_request() (net/ipv4/tcp_input.c), tcp_v4_send_reset() (net/ipv4/tcp_ipv4.c); RFC 9293 §3.10.7.2';

interface Attempt {
  readonly remote: string;
  readonly syns: readonly TcpSegment[];
}

/** One check per listen step whose port received connection attempts: each is answered or its silence explained. */
export function checkListeners(run: RunRecord, analysis: RunAnalysis): Check[] {
  const checks: Check[] = [];
  const boundaryUs = stepsEndUs(run);
  const seen = new Set<string>();
  for (const step of run.lab.steps) {
    if (step.kind !== 'listen' || seen.has(`${step.host}:${step.port}`)) continue;
    seen.add(`${step.host}:${step.port}`);
    const host = run.hosts.find((h) => h.name === step.host);
    if (host === undefined) continue;
    const attempts = attemptsOf(run, host, step.port, analysis, boundaryUs);
    if (attempts.length === 0) continue;
    checks.push(judgeListener(run, host, step.port, attempts, analysis));
  }
  return checks;
}

/** The connection attempts that reached `host`'s TCP on `port` during the experiment. */
function attemptsOf(run: RunRecord, host: RunHost, port: number, analysis: RunAnalysis, boundaryUs: number): Attempt[] {
  const byKey = new Map<string, { remote: string; syns: TcpSegment[] }>();
  const firstOnTuple = new Map<string, number>();
  for (const s of host.segments) {
    const inbound = isAddressOf(host, s.dst) && s.dstPort === port;
    const outbound = isAddressOf(host, s.src) && s.srcPort === port;
    if (!inbound && !outbound) continue;
    const { src, dst } = segmentEndpoints(s);
    const remote = inbound ? src : dst;
    if (!firstOnTuple.has(remote)) firstOnTuple.set(remote, s.timeUs);
    if (!inbound || !isPureSyn(s) || s.timeUs > boundaryUs - ANSWER_WINDOW_US) continue;
    if (!run.hosts.some((h) => isAddressOf(h, s.src))) continue;
    if (ruleDropOf(analysis.rules, host.name, s.frame) !== undefined) continue; // never reached TCP
    const key = `${remote} ${s.seq}`;
    const attempt = byKey.get(key) ?? { remote, syns: [] };
    attempt.syns.push(s);
    byKey.set(key, attempt);
  }
  // A SYN on a tuple that carried segments before it is not a new attempt at the listener.
  return [...byKey.values()].filter((a) => firstOnTuple.get(a.remote) === (a.syns[0] as TcpSegment).timeUs);
}

/** The sentence in every language, from the words of conformance checks. */
function words(sentence: (w: ConformanceWords, lang: Lang) => string): Text {
  return say(CONFORMANCE_WORDS, sentence);
}

function judgeListener(run: RunRecord, host: RunHost, port: number, attempts: readonly Attempt[], analysis: RunAnalysis): Check {
  const refused = listenerRefusals(run, host);
  const evidence: Text[] = [];
  const problems: Text[] = [];
  let answered = 0;
  for (const attempt of attempts) {
    const first = attempt.syns[0] as TcpSegment;
    const what = words((w) => w.synFrom(attempt.remote, host.name, first.frame, relTime(run, first.timeUs), attempt.syns.length));
    const answer = answerOf(run, host, port, attempt);
    if (answer !== undefined) {
      answered += 1;
      evidence.push(words((w, lang) => w.answeredBy(what[lang], answer[lang])));
      continue;
    }
    const cause = silenceCause(run, host, port, attempt, refused, analysis);
    if (cause !== undefined) {
      evidence.push(words((w, lang) => w.unansweredBecause(what[lang], cause[lang])));
      continue;
    }
    problems.push(words((w, lang) => w.neverAnswered(what[lang])));
  }
  const silent = attempts.length - answered;
  const separator = words((w) => w.separator);
  const listed = joinTexts(problems, separator);
  return textCheck({
    name: words((w) => w.answersEveryAttempt(host.name, port)),
    status: problems.length === 0 ? 'pass' : 'fail',
    expected: words((w) => w.answerExpected),
    observed: words((w, lang) => w.attempts(attempts.length, answered, silent, problems.length > 0 ? listed[lang] : undefined)),
    evidence,
    reference: REFERENCE,
    origin: { kind: 'listener', host: host.name, port },
    refs: segmentRefs(
      host.name,
      attempts.map((a) => (a.syns[0] as TcpSegment).frame),
    ),
  });
}

/** What answered an attempt: a SYN-ACK or RST back on its tuple in either capture, or a socket the host sampled. */
function answerOf(run: RunRecord, host: RunHost, port: number, attempt: Attempt): Text | undefined {
  const first = attempt.syns[0] as TcpSegment;
  const local = segmentEndpoints(first).dst;
  for (const capture of run.hosts) {
    const reply = capture.segments.find(
      (s) =>
        segmentEndpoints(s).src === local &&
        segmentEndpoints(s).dst === attempt.remote &&
        s.timeUs >= first.timeUs - 1000 &&
        ((s.flags & TcpFlag.RST) !== 0 || (s.flags & (TcpFlag.SYN | TcpFlag.ACK)) === (TcpFlag.SYN | TcpFlag.ACK)),
    );
    if (reply !== undefined) return words((w) => w.answer((reply.flags & TcpFlag.RST) !== 0, capture.name, reply.frame));
  }
  const sampled = host.events.find(
    (e): e is Extract<AgentEvent, { type: 'socket' }> => e.type === 'socket' && e.remote === attempt.remote && e.local.endsWith(`:${port}`),
  );
  if (sampled !== undefined) return words((w) => w.requestMade(host.name, sampled.state, relTime(run, sampled.timeUs)));
  return undefined;
}

/** Why the kernel may have kept silent about an attempt, or undefined when nothing the run shows explains it. */
function silenceCause(
  run: RunRecord,
  host: RunHost,
  port: number,
  attempt: Attempt,
  refused: AcceptQueueRefusal | undefined,
  analysis: RunAnalysis,
): Text | undefined {
  for (const syn of attempt.syns) {
    const reason = refused?.(syn);
    if (reason !== undefined) return reason;
  }
  const first = attempt.syns[0] as TcpSegment;
  const last = attempt.syns.at(-1) as TcpSegment;
  const sendDrop = analysis.rules.rules.find(
    (r) =>
      r.host === host.name &&
      SEND_CHAINS.has(r.parsed.chain) &&
      (r.target === 'DROP' || r.target === 'REJECT') &&
      r.fromUs <= last.timeUs + ANSWER_WINDOW_US &&
      r.untilUs >= first.timeUs,
  );
  if (sendDrop !== undefined) return words((w) => w.sendChainRule(sendDrop.name, sendDrop.text));
  return attempt.syns.map((syn) => synQueueFull(run, host, port, syn)).find((cause) => cause !== undefined);
}

/**
 * Whether the host's samples show its SYN queue on the SYN's listener full enough for tcp_conn_request() to
 * drop it without a cookie: with tcp_syncookies=0, the requests sampled in the second before it (SYN_RECV
 * rows: sampled-reads.ts synQueueReadings()) against the listen backlog or ¾ of tcp_max_syn_backlog. Samples
 * miss rows, so half the limit counts.
 */
function synQueueFull(run: RunRecord, host: RunHost, port: number, syn: TcpSegment): Text | undefined {
  if ((host.kernelSettings['net.ipv4.tcp_syncookies'] ?? '1') !== '0') return undefined; // a full queue still answers with a cookie
  const backlog = listenStepBacklog(run, host, port) ?? 0;
  const limit = Math.min(backlog, Math.floor((Number(host.kernelSettings['net.ipv4.tcp_max_syn_backlog'] ?? Infinity) * 3) / 4));
  const readings = synQueueReadings(host, segmentEndpoints(syn).dst, backlog)(syn.timeUs - 1_000_000, syn.timeUs);
  const requests = Math.max(0, ...readings.map((r) => r.requests));
  if (requests * 2 < limit) return undefined;
  return words((w) => w.synQueueFull(requests, limit));
}
