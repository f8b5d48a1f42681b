import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCaptureFile } from '../../../src/observe/capture-decoder.js';
import type { TcpSegment } from '../../../src/observe/packet.js';
import { buildCaptureLadder } from '../../../src/report/capture-ladder.js';
import { defaultHtmlPath } from '../../../src/cli/report-capture.js';
import { ConnectionTracker, type TcpConnection } from '../../../src/verify/connections.js';
import { REPO_ROOT, runCli } from '../../helpers/run-cli.js';
import { tempDir } from '../../helpers/temp-dir.js';

/** `tcplab report <capture>`: the ladder of any capture, states from the capture replay, one frame per arrow. */
const RUNS = join(REPO_ROOT, 'test/fixtures/runs');
const HANDSHAKE = join(RUNS, 'handshake/client/capture.pcap');
const SYN_SENT = join(RUNS, 'syn-sent/client/capture.pcap');
const count = (text: string, pattern: RegExp): number => text.match(new RegExp(pattern.source, 'g'))?.length ?? 0;

async function ladderOf(path: string, id = 0) {
  const segments: TcpSegment[] = [];
  const connections: TcpConnection[] = [];
  const tracker = new ConnectionTracker({
    onSegment: (segment, conn) => {
      if (conn === id) segments.push(segment);
    },
    onConnection: (c) => connections.push(c),
  });
  await readCaptureFile(path, (segment) => tracker.push(segment));
  tracker.finish();
  const connection = connections.find((c) => c.id === id) as TcpConnection;
  return { connection, segments, ...buildCaptureLadder({ file: 'x.pcap', connection, segments, omitted: 0, anomalies: [], zeroUs: segments[0]?.timeUs ?? 0 }) };
}

/** The states drawn on one lifeline, top to bottom. */
function statesOn(model: Awaited<ReturnType<typeof ladderOf>>['model'], host: string): string[] {
  return model.marks.flatMap((m) => (m.kind === 'state' && m.host === host ? [m.state] : []));
}

describe('capture ladder (pure)', () => {
  it("a client's capture of handshake, data and close: one arrow per frame, each side's replayed states on its lifeline", async () => {
    const { model, segments, connection, commentary } = await ladderOf(HANDSHAKE);
    expect(model.arrows).toHaveLength(segments.length);
    expect(model.arrows.map((a) => a.senderFrame)).toEqual(segments.map((s) => s.frame));
    expect(model.arrows.every((a) => a.departUs === a.arriveUs && a.fate.kind === 'delivered')).toBe(true);
    // The lifelines carry the same paths `tcplab verify` prints, state for state.
    expect(statesOn(model, 'client')).toEqual(connection.states.client.path);
    expect(statesOn(model, 'server')).toEqual(connection.states.server.path);
    expect(statesOn(model, 'client')).toEqual(['CLOSED', 'SYN_SENT', 'ESTABLISHED', 'FIN_WAIT_1', 'FIN_WAIT_2', 'TIME_WAIT']);
    expect(statesOn(model, 'server')).toEqual(['LISTEN', 'SYN_RECEIVED', 'ESTABLISHED', 'CLOSE_WAIT', 'LAST_ACK', 'CLOSED']);
    expect(model.phases.map((p) => p.kind)).toEqual(['handshake', 'four-way-close']);
    // Each state is stamped with the frame that caused it: SYN_SENT with the SYN, the client's TIME_WAIT with the server's FIN.
    const at = (host: string, state: string) => model.marks.find((m) => m.kind === 'state' && m.host === host && m.state === state)?.timeUs;
    expect(at('client', 'SYN_SENT')).toBe(model.arrows[0]?.departUs);
    const serverFin = model.arrows.find((a) => a.from === 'server' && a.flags.includes('F'));
    expect(at('client', 'TIME_WAIT')).toBe(serverFin?.departUs);
    expect(commentary.filter((l) => l.kind === 'state')).toHaveLength(10);
    expect(commentary.find((l) => l.en.startsWith('client: ESTABLISHED → FIN_WAIT_1'))?.zh).toMatch(/^客户端：ESTABLISHED → FIN_WAIT_1（close，第 \d+ 帧）$/);
  });

  it('retransmitted SYNs carry their copy number and the time since the previous copy', async () => {
    const { model, commentary } = await ladderOf(SYN_SENT);
    const syns = model.arrows.filter((a) => a.flags === 'S');
    expect(syns.length).toBeGreaterThanOrEqual(3);
    expect(syns[0]?.retransmission).toBeUndefined();
    expect(syns.slice(1).map((a) => a.retransmission?.copy)).toEqual(syns.slice(1).map((_, i) => i + 2));
    expect(syns[1]?.retransmission?.sinceUs).toBeGreaterThan(900_000);
    expect(commentary.filter((l) => l.kind === 'transmission')).toHaveLength(syns.length - 1);
  });

  it('the default output sits beside the capture, its capture and compression extensions dropped', () => {
    expect(defaultHtmlPath('/data/x.pcap')).toBe('/data/x.report.html');
    expect(defaultHtmlPath('web.pcapng.gz')).toBe('web.report.html');
    expect(defaultHtmlPath('/tmp/trace')).toBe('/tmp/trace.report.html');
  });
});

describe('tcplab report <capture>', () => {
  it('writes a self-contained HTML ladder of the connection, with the findings of tcplab verify', async () => {
    const dir = tempDir('tcplab-capture-report-');
    const out = join(dir, 'r.html');
    const result = await runCli(['report', HANDSHAKE, '--out', out]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout.trim()).toBe(out);
    const html = readFileSync(out, 'utf8');
    expect(count(html, /<svg class="ladder"/)).toBe(1);
    expect(count(html, /<g class="lifeline"/)).toBe(2);
    expect(count(html, /<g id="c0-seg-\d+" class="arrow delivered/)).toBe(9);
    expect(html).toContain('data-kind="handshake"');
    expect(html).toContain('CLOSED → SYN_SENT → ESTABLISHED → FIN_WAIT_1 → FIN_WAIT_2 → TIME_WAIT');
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
  });

  it('default output beside the capture; --format mermaid and --format text --lang zh', async () => {
    const dir = tempDir('tcplab-capture-report-');
    const copy = join(dir, 'student.pcap');
    copyFileSync(SYN_SENT, copy);
    const html = await runCli(['report', copy]);
    expect(html.exitCode).toBe(0);
    expect(existsSync(join(dir, 'student.report.html'))).toBe(true);
    const mermaid = await runCli(['report', copy, '--format', 'mermaid']);
    expect(mermaid.exitCode).toBe(0);
    expect(mermaid.stdout).toMatch(/^sequenceDiagram\n/);
    expect(mermaid.stdout).toContain('participant client as client ');
    expect(mermaid.stdout).toMatch(/Note over client: SYN_SENT · /);
    expect(count(mermaid.stdout, /client->>server: \[S\]/)).toBeGreaterThanOrEqual(3);
    const text = await runCli(['report', copy, '--format', 'text', '--lang', 'zh']);
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toMatch(/^过程解说：#0 /);
    expect(text.stdout).toContain('客户端：CLOSED → SYN_SENT');
    expect(text.stdout).toMatch(/客户端重发 \[S\]/);
  });

  it('every connection of a capture, or the one --conn picks; a Mermaid diagram needs one', async () => {
    const gz = join(REPO_ROOT, 'test/fixtures/compressed/zeek__web.pcap.gz');
    const listed = JSON.parse((await runCli(['verify', gz, '--json'])).stdout) as { connections: { id: number }[] };
    expect(listed.connections.length).toBeGreaterThan(1);
    const dir = tempDir('tcplab-capture-report-');
    const all = await runCli(['report', gz, '--out', join(dir, 'all.html')]);
    expect(all.exitCode).toBe(0);
    const drawn = Math.min(listed.connections.length, 20);
    const allHtml = readFileSync(join(dir, 'all.html'), 'utf8');
    expect(count(allHtml, /<section class="connection"/)).toBe(drawn);
    // Each connection's ladder, warnings and commentary scope their ids: none repeats, and every link finds its target.
    const ids = [...allHtml.matchAll(/ id="([^"]+)"/g)].map((m) => m[1]!);
    expect(ids.length).toBeGreaterThan(drawn);
    expect(new Set(ids).size).toBe(ids.length);
    const targets = [...allHtml.matchAll(/href="#([^"]+)"/g)].map((m) => m[1]!);
    expect(targets.filter((t) => !ids.includes(t))).toEqual([]);
    const one = await runCli(['report', gz, '--conn', '1', '--out', join(dir, 'one.html')]);
    expect(one.exitCode).toBe(0);
    const oneHtml = readFileSync(join(dir, 'one.html'), 'utf8');
    expect(count(oneHtml, /<section class="connection"/)).toBe(1);
    expect(oneHtml).toContain('id="conn-1"');
    const mermaid = await runCli(['report', gz, '--format', 'mermaid']);
    expect(mermaid.exitCode).toBe(2);
    expect(mermaid.stderr).toMatch(/holds \d+ connections and a Mermaid diagram draws one: pick it with --conn N/);
  });

  it('bad input: a missing connection, a bad number, a run-only flag: exit 2, nothing written', async () => {
    const dir = tempDir('tcplab-capture-report-');
    const out = join(dir, 'never.html');
    const missing = await runCli(['report', HANDSHAKE, '--conn', '7', '--out', out]);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/--conn 7: no such connection in .*capture\.pcap; its connections are #0–#0/);
    const word = await runCli(['report', HANDSHAKE, '--conn', 'first', '--out', out]);
    expect(word.exitCode).toBe(2);
    expect(word.stderr).toMatch(/--conn "first" is not a connection number/);
    const onRun = await runCli(['report', join(RUNS, 'handshake'), '--conn', '0']);
    expect(onRun.exitCode).toBe(2);
    expect(onRun.stderr).toMatch(/--conn picks a connection of a capture file/);
    const garbage = join(dir, 'notes.txt');
    writeFileSync(garbage, 'not a capture\n');
    const refused = await runCli(['report', garbage, '--out', out]);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(/nothing could be read: give a run folder written by `tcplab run`, or a pcap\/pcapng capture/);
    for (const r of [missing, word, onRun, refused]) expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(out)).toBe(false);
  });

  it('a capture cut off mid-record: the complete packets are drawn, with the warning on stderr and on the page', async () => {
    const dir = tempDir('tcplab-capture-report-');
    const cut = join(dir, 'cut.pcap');
    const bytes = readFileSync(HANDSHAKE);
    writeFileSync(cut, bytes.subarray(0, bytes.length - 20));
    const out = join(dir, 'cut.html');
    const result = await runCli(['report', cut, '--out', out]);
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toMatch(/warning: .*(cut off|truncated)/i);
    const html = readFileSync(out, 'utf8');
    expect(count(html, /<g id="c0-seg-\d+" class="arrow/)).toBe(8);
    expect(html).toMatch(/class="note">[^<]*(cut off|truncated)/i);
  });
});
