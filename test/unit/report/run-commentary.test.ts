import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { registerReport } from '../../../src/cli/report-command.js';
import { parseRuleCounters } from '../../../src/faults/rule-counters.js';
import { TcpFlag, type TcpSegment } from '../../../src/observe/packet.js';
import { escapeHtml, renderRunReportHtml } from '../../../src/report/html-report.js';
import { formatDuration, formatRelativeSeconds } from '../../../src/report/time-format.js';
import { buildLadderModel } from '../../../src/report/ladder-model.js';
import { buildRunCommentary, firstDeparture, renderCommentaryText, type CommentaryLine } from '../../../src/report/run-commentary.js';
import { compareSchedule, predictSynAckSchedule, predictSynSchedule, scheduleTimeline, timerEarlyMs, timerSlackMs } from '../../../src/tcp/timing-model.js';
import { readHostKernelSettings } from '../../../src/analysis/host-kernel-settings.js';
import { loadRunRecord } from '../../../src/run/load-run.js';
import type { RunHost, RunRecord } from '../../../src/analysis/run-record.js';
import { describeRto, estimateFinRto } from '../../../src/analysis/timing-fit.js';
import type { Verdict } from '../../../src/verify/verdict.js';
import { verifyRun } from '../../../src/verify/verify-run.js';
import { hostOf, loadFixtureRun, withHost } from './fixture-runs.js';
import { analyzeRun } from '../../../src/analysis/analyze-run.js';

/** Real run folders made for this test (tcplab run …, copied without report.html). */
type ExtraFixture = 'syn-rcvd-late-drop' | 'fin-wait-1-orphan' | 'refused' | 'reset-reject' | 'syn-flood';

function extraFixtureDir(name: ExtraFixture): string {
  return fileURLToPath(new URL(`../../fixtures/runs/${name}`, import.meta.url));
}

async function loadExtraFixture(name: ExtraFixture): Promise<{ record: RunRecord; verdict: Verdict }> {
  const dir = extraFixtureDir(name);
  return { record: await loadRunRecord(dir), verdict: JSON.parse(readFileSync(join(dir, 'verdict.json'), 'utf8')) as Verdict };
}

const at = (record: RunRecord, us: number): string => formatRelativeSeconds(us - record.startedUs);
const isPureSyn = (s: TcpSegment): boolean => (s.flags & (TcpFlag.SYN | TcpFlag.ACK | TcpFlag.RST)) === TcpFlag.SYN;
const isSynAck = (s: TcpSegment): boolean => (s.flags & (TcpFlag.SYN | TcpFlag.ACK | TcpFlag.RST)) === (TcpFlag.SYN | TcpFlag.ACK);
const sentBy = (host: RunHost, test: (s: TcpSegment) => boolean): TcpSegment[] => host.segments.filter((s) => s.src === host.address && test(s));

function lineContaining(lines: readonly CommentaryLine[], text: string, lang: 'en' | 'zh' = 'en'): CommentaryLine {
  const found = lines.find((l) => l[lang].includes(text));
  if (found === undefined) throw new Error(`no ${lang} commentary line contains "${text}"; lines:\n${lines.map((l) => l[lang]).join('\n')}`);
  return found;
}

/** The record with every copy (both captures) of the client's `index`-th SYN removed, or moved by `shiftUs`. */
function changeSyn(record: RunRecord, index: number, change: { remove: true } | { shiftUs: number }): RunRecord {
  const client = hostOf(record, 'client');
  const target = sentBy(client, isPureSyn)[index];
  if (target === undefined) throw new Error(`fixture has no SYN #${index + 1}`);
  const sameCopy = (s: TcpSegment): boolean => s.seq === target.seq && s.ipId === target.ipId && s.flags === target.flags && s.srcPort === target.srcPort;
  let next = record;
  for (const host of record.hosts) {
    next = withHost(next, host.name, (h) => ({
      ...h,
      segments:
        'remove' in change ? h.segments.filter((s) => !sameCopy(s)) : h.segments.map((s) => (sameCopy(s) ? { ...s, timeUs: s.timeUs + change.shiftUs } : s)),
    }));
  }
  return next;
}

describe('buildRunCommentary: syn-sent (SYNs dropped by a rule, connect() times out)', async () => {
  const { record, verdict } = await loadFixtureRun('syn-sent');
  const lines = buildRunCommentary(analyzeRun(record), verdict);
  const client = hostOf(record, 'client');
  const settings = readHostKernelSettings(client).settings;
  const schedule = predictSynSchedule(settings);
  const syns = sentBy(client, isPureSyn);
  const settingsText = `tcp_syn_retries=${client.kernelSettings['net.ipv4.tcp_syn_retries']}, tcp_syn_linear_timeouts=${client.kernelSettings['net.ipv4.tcp_syn_linear_timeouts']}`;

  it('tells every SYN with its interval, its fate and the next send the model predicts (EN and ZH)', () => {
    expect(syns.length).toBe(4);
    const [s1, s2, s3, s4] = syns as [TcpSegment, TcpSegment, TcpSegment, TcpSegment];
    const first = lineContaining(lines, 'SYN #1 sent by client');
    expect(first.en).toBe(
      `SYN #1 sent by client at ${at(record, s1.timeUs)} (seq ${s1.seq}, to server); dropped by rule drop-syn on server; ` +
        `the model predicts the next at ${at(record, s1.timeUs + (schedule.intervalsMs[1] ?? 0) * 1000)} (${settingsText})`,
    );
    const third = lineContaining(lines, 'SYN #3 sent by client');
    const next = at(record, s3.timeUs + (schedule.intervalsMs[3] ?? 0) * 1000);
    expect(third.en).toBe(
      `SYN #3 sent by client at ${at(record, s3.timeUs)}, ${formatDuration(s3.timeUs - s2.timeUs)} after #2; dropped by rule drop-syn on server; the model predicts the next at ${next}`,
    );
    expect(third.zh).toBe(
      `client 在 ${at(record, s3.timeUs)} 发送 SYN #3（第 2 次重传），距 #2 ${formatDuration(s3.timeUs - s2.timeUs)}；被 server 上的规则 drop-syn 丢弃；模型预测下一次在 ${next}`,
    );
    expect(third.arrowId).toBe('seg-3');
    const last = lineContaining(lines, 'SYN #4 sent by client');
    expect(last.en).toContain(
      `the model predicts connect() gives up at ${at(record, s4.timeUs + schedule.failIntervalMs * 1000)} (count limit; ${settingsText})`,
    );
    expect(last.zh).toContain(`模型预测 connect() 在 ${at(record, s4.timeUs + schedule.failIntervalMs * 1000)} 放弃（次数上限；${settingsText}）`);
  });

  it('tells the ETIMEDOUT against the model window, the rule counter, and the states with their causes', () => {
    const error = client.events.find((e) => e.type === 'error');
    if (error?.type !== 'error') throw new Error('fixture has no error event');
    const s4 = syns[3] as TcpSegment;
    const firstUs = (syns[0] as TcpSegment).timeUs;
    const offsets = syns.map((s) => (s.timeUs - firstUs) / 1000);
    const { expectedOffsetsMs, intervalsMs } = scheduleTimeline(schedule);
    const items = compareSchedule(expectedOffsetsMs, [...offsets, (error.timeUs - firstUs) / 1000], intervalsMs, 250);
    const giveUp = items[4];
    expect(giveUp?.ok).toBe(true);
    const timedOut = lineContaining(lines, 'failed with ETIMEDOUT');
    expect(timedOut.en).toBe(
      `connect() of client/c failed with ETIMEDOUT at ${at(record, error.timeUs)} (timed out): within the model's window, ` +
        `between ${formatRelativeSeconds(firstUs - record.startedUs + (giveUp?.earliestMs ?? 0) * 1000)} and ${formatRelativeSeconds(firstUs - record.startedUs + (giveUp?.latestMs ?? 0) * 1000)} (count limit)`,
    );
    expect(timedOut.zh).toContain(`client/c 的 connect() 在 ${at(record, error.timeUs)} 以 ETIMEDOUT 失败（连接超时）`);
    expect(timedOut.arrowId).toBe(
      buildLadderModel(analyzeRun(record), verdict).arrows.find((a) => a.segment.timeUs === s4.timeUs || a.departUs === s4.timeUs - record.startedUs)?.id,
    );
    // told once: the application commentary does not repeat the ETIMEDOUT
    expect(lines.filter((l) => l.en.includes('failed with ETIMEDOUT')).length).toBe(1);

    const counter = parseRuleCounters(hostOf(record, 'server').ruleCounters).find((c) => c.chain === 'INPUT');
    const dropped = hostOf(record, 'server').segments.filter(isPureSyn).length;
    expect(lineContaining(lines, 'rule drop-syn on server matched').en).toBe(`rule drop-syn on server matched ${dropped} segments (counter ${counter?.pkts})`);
    expect(lineContaining(lines, '规则 drop-syn 共匹配', 'zh').zh).toBe(`server 上的规则 drop-syn 共匹配 ${dropped} 个报文段（计数器 ${counter?.pkts}）`);

    const sample = client.events.find((e) => e.type === 'socket' && e.state === 'SYN_SENT');
    const connectStep = record.steps.find((s) => s.kind === 'connect');
    expect(lineContaining(lines, 'client/c enters SYN_SENT').en).toBe(
      `client/c enters SYN_SENT at ${at(record, sample?.timeUs ?? 0)} (connect() at ${at(record, connectStep?.startUs ?? 0)}, SYN #1 at ${at(record, (syns[0] as TcpSegment).timeUs)})`,
    );
    expect(lineContaining(lines, '进入 SYN_SENT 状态', 'zh').zh).toContain('connect() 调用于');
  });

  it('is in time order and departs nowhere for this passing run', () => {
    const times = lines.map((l) => l.timeUs);
    expect(times).toEqual([...times].sort((x, y) => x - y));
    expect(firstDeparture(lines)).toBeUndefined();
    expect(lines.every((l) => l.zh !== '' && l.en !== '')).toBe(true);
  });

  it('a removed SYN is told as missing where the model expected it: the departed line appears', () => {
    const mutated = changeSyn(record, 1, { remove: true });
    const mutatedLines = buildRunCommentary(analyzeRun(mutated), verdict);
    const departure = firstDeparture(mutatedLines);
    const s1 = syns[0] as TcpSegment;
    const interval = schedule.intervalsMs[1] ?? 0;
    const earliest = s1.timeUs + (interval - timerEarlyMs(interval, 250) - 20) * 1000;
    const latest = s1.timeUs + (interval + timerSlackMs(interval, 250) + 20) * 1000;
    expect(departure?.en).toBe(
      `departs from the model: expected SYN #2 from client between ${at(record, earliest)} and ${at(record, latest)}; none is in client's capture`,
    );
    expect(departure?.zh).toBe(`与模型不符：预期 client 在 ${at(record, earliest)} 与 ${at(record, latest)} 之间发送 SYN #2；其抓包中没有`);
    expect(departure?.timeUs).toBe(earliest - record.startedUs);
    // The SYN sent next is the model's #3 and fits its window: not a departure of its own.
    const shifted = lineContaining(mutatedLines, 'SYN #2 sent by client');
    expect(shifted.en).toContain("(the model's #3)");
    expect(shifted.departs).toBe(false);
    expect(mutatedLines.filter((l) => l.departs).length).toBe(1);
  });

  it('a SYN shifted 300 ms early departs from the model at that SYN', () => {
    const mutated = changeSyn(record, 2, { shiftUs: -300_000 });
    const mutatedLines = buildRunCommentary(analyzeRun(mutated), verdict);
    const departure = firstDeparture(mutatedLines);
    const [, s2, s3] = syns as [TcpSegment, TcpSegment, TcpSegment];
    const interval = schedule.intervalsMs[2] ?? 0;
    expect(departure?.arrowId).toBe('seg-3');
    expect(departure?.kind).toBe('transmission');
    expect(departure?.en).toContain(
      `departs from the model: expected SYN #3 between ${at(record, s2.timeUs + (interval - timerEarlyMs(interval, 250) - 20) * 1000)} and ${at(record, s2.timeUs + (interval + timerSlackMs(interval, 250) + 20) * 1000)}, ` +
        `observed at ${at(record, s3.timeUs - 300_000)} (early: sooner than any timer fires)`,
    );
    expect(departure?.zh).toContain(`（过早：早于定时器可能触发的时刻）`);
    expect(lineContaining(lines, 'SYN #3 sent by client').departs).toBe(false);
  });
});

describe('buildRunCommentary: handshake (phases, states passed too quickly to sample)', async () => {
  const { record, verdict } = await loadFixtureRun('handshake');
  const lines = buildRunCommentary(analyzeRun(record), verdict);
  const client = hostOf(record, 'client');

  it('tells the three-way handshake with ack = ISN + 1 on both sides, and the four-way close', () => {
    const syn = sentBy(client, isPureSyn)[0] as TcpSegment;
    const synAck = client.segments.find(isSynAck) as TcpSegment;
    const ack = client.segments.find((s) => s.src === client.address && s.flags === TcpFlag.ACK && s.ack === (synAck.seq + 1) >>> 0) as TcpSegment;
    expect(synAck.ack).toBe(syn.seq + 1);
    const handshake = lineContaining(lines, 'three-way handshake');
    expect(handshake.en).toBe(
      `three-way handshake complete at ${at(record, ack.timeUs)}: ack = ISN + 1 on both sides (client ISN ${syn.seq}, SYN-ACK ack ${syn.seq + 1}; server ISN ${synAck.seq}, ACK ack ${synAck.seq + 1})`,
    );
    expect(handshake.zh).toContain(`${at(record, ack.timeUs)} 三次握手完成：双方的 ack 都等于对方的 ISN + 1`);
    expect(handshake.kind).toBe('phase');
    const close = lineContaining(lines, 'four-way close');
    expect(close.en).toContain('four-way close complete at');
    expect(close.en).toContain("client sent the first FIN; server's ACK and FIN were separate segments");
    expect(close.zh).toContain('四次挥手完成');
  });

  it('tells SYN_SENT as passed through (not sampled) from connect(), and TIME_WAIT from the received FIN', () => {
    const connect = record.steps.find((s) => s.kind === 'connect');
    const passes = lineContaining(lines, 'client/c passes through SYN_SENT');
    expect(passes.en).toContain(`at ${at(record, connect?.startUs ?? 0)} (connect() at ${at(record, connect?.startUs ?? 0)}, SYN at `);
    expect(passes.zh).toContain('经过 SYN_SENT 状态');
    const serverFin = hostOf(record, 'client').segments.find((s) => s.dst === client.address && (s.flags & TcpFlag.FIN) !== 0) as TcpSegment;
    expect(lineContaining(lines, 'client/c enters TIME_WAIT').en).toContain(`(received [F.] at ${at(record, serverFin.timeUs)})`);
    expect(firstDeparture(lines)).toBeUndefined();
  });
});

describe('buildRunCommentary: a real failed run (syn-rcvd: the half-open request is dropped late)', async () => {
  const { record, verdict } = await loadExtraFixture('syn-rcvd-late-drop');
  const lines = buildRunCommentary(analyzeRun(record), verdict);
  const server = hostOf(record, 'server');
  const synAcks = sentBy(server, isSynAck);
  const gone = server.events.find((e) => e.type === 'socket-gone' && e.state === 'SYN_RECEIVED');

  it('marks the give-up outside the model window as the first departure, with numbers from the run', () => {
    expect(verdict.verdict).toBe('fail');
    const firstUs = (synAcks[0] as TcpSegment).timeUs;
    const offsets = synAcks.map((s) => (s.timeUs - firstUs) / 1000);
    const results = (['none', 'max'] as const).map((timerLateness) => {
      const { expectedOffsetsMs, intervalsMs } = scheduleTimeline(predictSynAckSchedule(readHostKernelSettings(server).settings, { timerLateness }));
      return compareSchedule(expectedOffsetsMs, [...offsets, ((gone?.timeUs ?? 0) - firstUs) / 1000], intervalsMs, 250);
    });
    // Neither prediction fits the observed drop: the commentary must say so, with the on-time prediction's window.
    expect(results.every((items) => items.at(-1)?.verdict === 'late')).toBe(true);
    const window = results[0]?.at(-1);
    const departure = firstDeparture(lines);
    expect(departure?.kind).toBe('model');
    expect(departure?.en).toBe(
      `server's half-open request (SYN_RECEIVED) for ${(synAcks[0] as TcpSegment).dst}:${(synAcks[0] as TcpSegment).dstPort} is dropped silently at ${at(record, gone?.timeUs ?? 0)} (its row left /proc/net/tcp); ` +
        `departs from the model: expected between ${at(record, firstUs + (window?.earliestMs ?? 0) * 1000)} and ${at(record, firstUs + (window?.latestMs ?? 0) * 1000)} (late: later than the timer wheel allows)`,
    );
    expect(departure?.zh).toContain('的半连接（SYN_RECEIVED）在');
    expect(departure?.zh).toContain('与模型不符');
    // The failed SYN-ACK timing check is told through its series, not once more.
    expect(lines.some((l) => l.en.startsWith('check failed: SYN-ACK retransmissions'))).toBe(false);
  });

  it('tells the half-open connection and the SYN-ACK retransmissions with tcp_synack_retries', () => {
    expect(lineContaining(lines, 'half-open connection').zh).toContain('半连接');
    const last = lineContaining(lines, `SYN-ACK #${synAcks.length} sent by server`);
    expect(last.en).toContain(`the model predicts the half-open request is dropped at`);
    expect(last.en).toContain(`tcp_synack_retries=${server.kernelSettings['net.ipv4.tcp_synack_retries']}`);
    expect(lineContaining(lines, 'SYN-ACK #2 sent by server').zh).toContain('（第 1 次重传）');
  });

  it('marks it in the HTML report: the section, the first departure and a link to it', () => {
    const html = renderRunReportHtml(analyzeRun(record), verdict);
    expect(html).toContain('<section id="commentary"><h2>What happened</h2>');
    expect(html.match(/id="first-departure"/g)?.length).toBe(1);
    expect(html).toMatch(/<li class="commentary-line model departs first-departure" id="first-departure">.*⚠ first departure from the model/);
    expect(html).toContain('<a class="departure-link" href="#first-departure">');
    expect(html).toContain(escapeHtml(firstDeparture(lines)?.en ?? '∅'));
    const zh = renderRunReportHtml(analyzeRun(record), verdict, { lang: 'zh' });
    expect(zh).toContain('<h2>过程解说</h2>');
    expect(zh).toContain('⚠ 观察首次偏离模型');
  });
});

describe('buildRunCommentary: orphan FIN, refused, reset', async () => {
  it('fin-wait-1: FIN retransmissions with the orphan model, the tail-loss probe and the silent destruction', async () => {
    const { record, verdict } = await loadExtraFixture('fin-wait-1-orphan');
    const lines = buildRunCommentary(analyzeRun(record), verdict);
    const client = hostOf(record, 'client');
    const fins = sentBy(client, (s) => (s.flags & (TcpFlag.FIN | TcpFlag.RST)) === TcpFlag.FIN);
    const firstUs = (fins[0] as TcpSegment).timeUs;
    const estimate = estimateFinRto(
      fins.map((f) => (f.timeUs - firstUs) / 1000),
      Number(client.kernelSettings['net.ipv4.tcp_rto_min_us']) / 1000,
      250,
    );
    expect(lineContaining(lines, 'FIN #1 sent by client').en).toContain(
      `(tcp_orphan_retries=${client.kernelSettings['net.ipv4.tcp_orphan_retries']}, RTO ${describeRto(estimate)})`,
    );
    expect(lineContaining(lines, 'FIN #2 sent by client').en.includes('a tail-loss probe')).toBe(estimate.tlpAtMs !== undefined);
    const gone = client.events.find((e) => e.type === 'socket-gone' && e.conn === 'c');
    expect(lineContaining(lines, "client's orphaned socket").en).toContain(`is destroyed at ${at(record, gone?.timeUs ?? 0)}, last seen in FIN_WAIT_1`);
    // The failed conformance check is placed at the violation it names.
    const failed = verdict.checks.find((c) => c.status === 'fail');
    const violation = /\+(\d+\.\d+) s/.exec(failed?.evidence.find((e) => e.startsWith('violation:')) ?? '');
    const departure = firstDeparture(lines);
    expect(departure?.kind).toBe('check');
    expect(departure?.timeUs).toBe(Math.round(Number(violation?.[1]) * 1e6));
    expect(departure?.zh.startsWith('检查失败：')).toBe(true);
  });

  it('refused: ECONNREFUSED tied to the RST that answered the SYN', async () => {
    const { record, verdict } = await loadExtraFixture('refused');
    const lines = buildRunCommentary(analyzeRun(record), verdict);
    const model = buildLadderModel(analyzeRun(record), verdict);
    const rst = model.arrows.find((a) => (a.segment.flags & TcpFlag.RST) !== 0);
    const error = hostOf(record, 'client').events.find((e) => e.type === 'error');
    const refused = lineContaining(lines, 'ECONNREFUSED');
    expect(refused.en).toBe(
      `connect() of client/c failed with ECONNREFUSED at ${at(record, error?.timeUs ?? 0)}: the SYN was answered with a RST (the RST arrived at ${formatRelativeSeconds(rst?.arriveUs ?? 0)})`,
    );
    expect(refused.zh).toContain('以 ECONNREFUSED 失败（连接被拒绝）');
    expect(refused.arrowId).toBe(rst?.id);
    // The SYN was answered at once: no timing prediction for it.
    expect(lineContaining(lines, 'SYN [S] sent by client').en).not.toContain('the model predicts');
  });

  it('reset: the REJECT rule, the RST the firewall sent for it, and ECONNRESET', async () => {
    const { record, verdict } = await loadExtraFixture('reset-reject');
    const lines = buildRunCommentary(analyzeRun(record), verdict);
    expect(lineContaining(lines, 'rejected by rule reset-client on server (REJECT)').kind).toBe('transmission');
    const firewall = lineContaining(lines, "sent by server's firewall");
    expect(firewall.en).toContain('(rule reset-client, REJECT --reject-with tcp-reset) in reply to the rejected [P.], not by TCP');
    expect(lineContaining(lines, 'read() of client/c failed with ECONNRESET').zh).toContain('（连接被重置）');
  });
});

describe('renderCommentaryText and the HTML section', async () => {
  const { record, verdict } = await loadFixtureRun('syn-sent');

  it('prints one line per entry with its arrow, in the chosen language, and marks the first departure', () => {
    const lines = buildRunCommentary(analyzeRun(record), verdict);
    const en = renderCommentaryText(lines, 'en', { title: record.lab.title, verdict: 'pass' });
    const zh = renderCommentaryText(lines, 'zh', { title: record.lab.title, verdict: 'pass' });
    expect(en.split('\n')[0]).toBe(`What happened: ${record.lab.title} — PASS`);
    expect(zh.split('\n')[0]).toBe(`过程解说：${record.lab.title} — 通过`);
    expect(en.trimEnd().split('\n').length).toBe(lines.length + 1);
    expect(en).toContain(`${lineContaining(lines, 'SYN #3 sent').en}  (→ 3)`);
    expect(zh).toContain(lineContaining(lines, 'SYN #3', 'zh').zh);
    expect(en).not.toContain('first departure');
    const departed = renderCommentaryText(buildRunCommentary(analyzeRun(changeSyn(record, 2, { shiftUs: -300_000 })), verdict), 'en');
    expect(departed).toMatch(/^⚠ +\+\d+\.\d{3} s {2}SYN #3 .*← first departure from the model$/m);
  });

  it('renders the section in time order with arrow links, and escapes text from the run', () => {
    const evil = '<script>alert("x")</script>';
    const client = hostOf(record, 'client');
    const tampered = withHost(record, 'client', (h) => ({
      ...h,
      events: [...h.events, { type: 'error', timeUs: client.events.at(-1)?.timeUs ?? 0, conn: 'c', code: 'EPIPE', syscall: 'write', message: evil }],
    }));
    const html = renderRunReportHtml(analyzeRun(tampered), verdict);
    expect(html).not.toContain('<script>');
    expect(html).toContain(escapeHtml(`failed with EPIPE`));
    expect(html).toContain(escapeHtml(evil));
    const section = html.slice(html.indexOf('<section id="commentary">'), html.indexOf('<section id="checks">'));
    expect(section).toContain('<a class="arrow-ref" href="#seg-1">(→ 1)</a>');
    const times = [...section.matchAll(/<span class="time">\+([\d.]+) s<\/span>/g)].map((m) => Number(m[1]));
    expect(times.length).toBe(buildRunCommentary(analyzeRun(tampered), verdict).length);
    expect(times).toEqual([...times].sort((x, y) => x - y));
    expect(html).not.toContain('id="first-departure"');
  });

  it('a mutated run verified again fails and its report marks where it departed', () => {
    const mutated = changeSyn(record, 1, { remove: true });
    const recomputed = verifyRun(mutated, '/tmp/none', 0);
    expect(recomputed.verdict).toBe('fail');
    const html = renderRunReportHtml(analyzeRun(mutated), recomputed);
    const first = firstDeparture(buildRunCommentary(analyzeRun(mutated), recomputed));
    expect(first?.en).toContain('expected SYN #2 from client');
    expect(html).toMatch(
      /id="first-departure"><span class="time">[^<]+<\/span><span class="text"><strong class="departure-flag">⚠ first departure from the model<\/strong> departs from the model: expected SYN #2/,
    );
  });
});

describe('tcplab report --format text', () => {
  const temporary: string[] = [];
  afterEach(() => {
    for (const dir of temporary.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  async function runReport(args: string[]): Promise<string> {
    const program = new Command('tcplab').exitOverride();
    registerReport(program, () => undefined);
    let stdout = '';
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stdout += String(chunk);
      return true;
    });
    try {
      await program.parseAsync(['node', 'tcplab', 'report', ...args]);
    } finally {
      spy.mockRestore();
    }
    return stdout;
  }

  it('prints the commentary in the chosen language, or writes it to --out', async () => {
    const dir = extraFixtureDir('syn-rcvd-late-drop');
    const en = await runReport([dir, '--format', 'text']);
    expect(en.startsWith('What happened: SYN_RCVD')).toBe(true);
    expect(en).toMatch(/^⚠ .*is dropped silently at .*← first departure from the model$/m);
    const zh = await runReport([dir, '--format', 'text', '--lang', 'zh']);
    expect(zh.startsWith('过程解说：')).toBe(true);
    expect(zh).toContain('半连接');
    const out = join(mkdtempSync(join(tmpdir(), 'tcplab-text-')), 'commentary.txt');
    temporary.push(join(out, '..'));
    expect((await runReport([dir, '--format', 'text', '--out', out])).trim()).toBe(out);
    expect(readFileSync(out, 'utf8')).toBe(en);
  });
});

describe('a failed check in the commentary names the lab line it came from', async () => {
  it('appends the check source to its line, in both languages', async () => {
    const { record } = await loadExtraFixture('syn-rcvd-late-drop');
    const { verifyRun } = await import('../../../src/verify/verify-run.js');
    const run = { ...record, lab: { ...record.lab, sourceFile: 'labs/syn-rcvd.yaml' } };
    const mutated = { ...run, hosts: run.hosts.map((h) => (h.name === 'client' ? { ...h, events: h.events.filter((e) => e.type !== 'error') } : h)) };
    const analysis = analyzeRun(mutated);
    const verdict = verifyRun(mutated, 'x', 0, analysis);
    const failed = verdict.checks.find((c) => c.status === 'fail' && c.origin?.kind === 'expectation' && c.origin.expectation === 'outcome');
    expect(failed?.source).toMatch(/^labs\/syn-rcvd\.yaml:\d+:\d+$/);
    const line = buildRunCommentary(analysis, verdict).find((l) => l.kind === 'check' && l.en.includes(failed?.name ?? '∅'));
    expect(line?.en.endsWith(`(${failed?.source})`)).toBe(true);
    expect(line?.zh.endsWith(`（${failed?.source}）`)).toBe(true);
  });
});

describe('forged SYNs of a flood are not held to a socket timer', async () => {
  it('syn-flood: the verdict passes, and the commentary finds no departure either; the forged SYNs say why', async () => {
    const { record } = await loadExtraFixture('syn-flood');
    const { verifyRun } = await import('../../../src/verify/verify-run.js');
    const analysis = analyzeRun(record);
    const verdict = verifyRun(record, 'x', 0, analysis);
    expect(verdict.verdict).toBe('pass');
    const lines = buildRunCommentary(analysis, verdict);
    expect(firstDeparture(lines)).toBeUndefined();
    const forged = lines.filter((l) => l.en.includes('a forged source address'));
    expect(forged.length).toBeGreaterThan(0);
    expect(forged.every((l) => l.zh.includes('伪造的源地址'))).toBe(true);
  });
});
