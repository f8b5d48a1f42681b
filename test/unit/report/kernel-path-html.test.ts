// The report's kernel call-path section, on the handshake and refused runs recorded with stacks on this
// project's machine (test/fixtures/runs/*-traced), and on a run folder from before call paths existed.
import { describe, expect, it } from 'vitest';
import { analyzeRun } from '../../../src/analysis/analyze-run.js';
import { connectionCallPaths } from '../../../src/observe/kernel-call-path.js';
import { renderRunReportHtml } from '../../../src/report/html-report.js';
import { renderKernelPathSection } from '../../../src/report/kernel-path-html.js';
import { loadFixtureRun } from './fixture-runs.js';

const sectionOf = (html: string): string => {
  const start = html.indexOf('<section id="kernel-path">');
  return start < 0 ? '' : html.slice(start, html.indexOf('</section>', start));
};
const framesOf = (section: string, kind: string): string => new RegExp(`data-kind="${kind}"[^>]*>.*?data-frames="([^"]*)"`).exec(section)?.[1] ?? '';

describe('report.html: the kernel call path', async () => {
  const traced = await loadFixtureRun('handshake-traced');
  const refused = await loadFixtureRun('refused-traced');
  const untraced = await loadFixtureRun('handshake');

  it('handshake: beside the ladder (after it, before the commentary), connect() returned −115 EINPROGRESS', () => {
    const html = renderRunReportHtml(analyzeRun(traced.record), traced.verdict);
    const order = ['<section id="ladder">', '<section id="kernel-path">', '<section id="commentary">'].map((s) => html.indexOf(s));
    expect(order.every((at, i) => at > 0 && (i === 0 || at > (order[i - 1] as number)))).toBe(true);
    const section = sectionOf(html);
    expect(section.match(/class="kpath-connection"/g)).toHaveLength(1);
    expect(section).toContain('data-return="-115"');
    expect(section).toContain('connect() returned -115 (EINPROGRESS)');
  });

  it('the connect side names the functions outermost first, from connect() to tcp_v4_connect', () => {
    const section = sectionOf(renderRunReportHtml(analyzeRun(traced.record), traced.verdict));
    expect(framesOf(section, 'syn-sent')).toBe(
      'connect() __x64_sys_connect __sys_connect inet_stream_connect __inet_stream_connect tcp_v4_connect inet_sk_state_store',
    );
    expect(section).toMatch(/data-kind="connect-returned"[^>]*>.*?-115 EINPROGRESS/);
  });

  it('the receive side: tcp_conn_request at the listener, tcp_finish_connect at the client, the child from tcp_v4_syn_recv_sock', () => {
    const section = sectionOf(renderRunReportHtml(analyzeRun(traced.record), traced.verdict));
    expect(framesOf(section, 'request')).toMatch(/^net_rx_action .* tcp_v4_rcv tcp_v4_do_rcv tcp_rcv_state_process tcp_conn_request inet_csk_route_req/);
    expect(framesOf(section, 'synack-arrival')).toMatch(
      /release_sock __release_sock tcp_v4_do_rcv tcp_rcv_state_process tcp_finish_connect inet_sk_state_store$/,
    );
    expect(framesOf(section, 'child')).toMatch(/tcp_v4_rcv tcp_check_req tcp_v4_syn_recv_sock tcp_create_openreq_child inet_csk_clone_lock inet_sk_set_state$/);
    // The softirq's interrupted task is shown apart, not mixed into the receive path.
    expect(framesOf(section, 'request')).not.toContain('tcp_connect');
    expect(section).toMatch(/ran in a softirq on top of node-\d+: .*tcp_connect/);
  });

  it('prints the time of each event as recorded, and the time between events, never a function duration', () => {
    const section = sectionOf(renderRunReportHtml(analyzeRun(traced.record), traced.verdict));
    const path = connectionCallPaths(traced.record.kernelCallPaths!)[0]!;
    for (const step of [...path.connect, ...path.receive]) {
      expect(section).toContain(`+${((step.call.timeUs - traced.record.startedUs) / 1e6).toFixed(6)} s`);
    }
    const synSent = path.connect[1]!.call.timeUs - path.connect[0]!.call.timeUs;
    expect(section).toContain(`(${Math.round(synSent)} µs after the previous event)`);
    expect(section).toContain('Function durations are not measured');
  });

  it('refused: the RST routed by tcp_v4_send_reset and received in tcp_reset', () => {
    const section = sectionOf(renderRunReportHtml(analyzeRun(refused.record), refused.verdict));
    expect(framesOf(section, 'reset-sent')).toMatch(/tcp_v4_rcv tcp_v4_send_reset ip_send_unicast_reply/);
    expect(framesOf(section, 'reset-arrival')).toMatch(/tcp_rcv_state_process tcp_reset$/);
    expect(section).toContain('data-kind="connect-failed"');
  });

  it('a run folder from before call paths has no such section; recorded paths without an active open say so', () => {
    expect(renderRunReportHtml(analyzeRun(untraced.record), untraced.verdict)).not.toContain('id="kernel-path"');
    const empty = { ...traced.record.kernelCallPaths!, calls: traced.record.kernelCallPaths!.calls.filter((c) => c.to !== 'SYN_SENT') };
    expect(renderKernelPathSection(empty, 0, 'en')).toContain('No call path was recorded');
    expect(renderKernelPathSection(traced.record.kernelCallPaths, 0, 'zh')).toContain('内核的实际调用路径');
  });
});
