// One test per row of the corpus INDEX.md coverage matrix: the analysis reports the behaviour.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { decodeCaptureBuffer } from '../../../src/observe/capture-decoder.js';
import { analyzeCapture, type TcpConnection } from '../../../src/verify/connections.js';
import { corpusDir, readCapture } from './corpus-helpers.js';

function analyze(name: string): TcpConnection[] {
  return analyzeCapture(decodeCaptureBuffer(readCapture(`${name}${name.endsWith('ng') ? '' : ''}`)).segments).connections;
}
const file = (base: string): string => (base.includes('.') ? base : `${base}.pcap`);
const conns = (base: string): TcpConnection[] => analyze(file(base));

describe('coverage matrix behaviours', () => {
  it('normal 3-way handshake and 4-segment close', () => {
    for (const base of [
      'tcpdump__dns_tcp',
      'tcpdump__whois',
      'zeek__ftp__ipv6',
      'zeek__redis__attr',
      'zeek__pop3__pop3',
      'zeek__web',
      'tcpdump__of10_pf5240',
    ]) {
      const closed = conns(base).filter((c) => c.counts.synAck === 1 && c.closedBy === 'fin');
      expect(closed.length, base).toBeGreaterThan(0);
      for (const c of closed) {
        expect(c.midStream, base).toBe(false);
        expect(c.mergedFinAckClose, base).toBe(false);
        expect(c.simultaneousClose, base).toBe(false);
        expect(c.finAcked, base).toEqual({ a: true, b: true });
      }
    }
  });

  it('close with FIN+ACK merged (FIN, FIN+ACK, ACK)', () => {
    for (const base of [
      'tcpdump__print-flags',
      'tcpdump__tfo-5c1fa7f9ae91',
      'zeek__port4242',
      'zeek__tcp__handshake-reorder',
      'suricata__bug-4376__syn_retransmit_with_ts',
    ]) {
      expect(
        conns(base).some((c) => c.mergedFinAckClose && c.closedBy === 'fin'),
        base,
      ).toBe(true);
    }
    const resp = conns('tcpdump__resp_1_benchmark');
    expect(resp.filter((c) => c.mergedFinAckClose)).toHaveLength(15);
  });

  it('RST in reply to SYN (connection refused)', () => {
    for (const base of ['tcpdump__of10_pf5240', 'tcpdump__of13_ericsson.pcapng', 'zeek__web', 'zeek__redis__attr', 'zeek__pop3__pop3', 'zeek__nmap-vsn']) {
      const refused = conns(base).filter((c) => c.rsts[0]?.inReplyTo === 'SYN' && c.rsts[0].from === 'b' && c.counts.synAck === 0);
      expect(refused.length, base).toBeGreaterThan(0);
    }
    expect(conns('tcpdump__bgp-bgpsec').filter((c) => c.rsts[0]?.inReplyTo === 'SYN')).toHaveLength(3);
    const redisV6 = conns('zeek__redis__attr').filter((c) => c.family === 6);
    expect(redisV6.every((c) => c.rsts[0]?.inReplyTo === 'SYN' && c.b === '[::1]:6379')).toBe(true);
    // pop3: the client re-sends the SYN after each RST (same ISN: counted as SYN retransmissions).
    const pop3 = conns('zeek__pop3__pop3');
    expect(pop3[0]!.rsts.map((r) => r.inReplyTo)).toEqual(['SYN', 'SYN', 'SYN']);
    expect(pop3[0]!.synRetransmissions.count).toBe(2);
  });

  it('SYN retransmission, eventually answered: zeek__socks, 6 retransmissions over ~7.5 s, SYN-ACK ~9.4 s after the first SYN', () => {
    const [socks] = conns('zeek__socks');
    expect(socks!.synRetransmissions.count).toBe(6);
    const intervalsS = socks!.synRetransmissions.intervalsUs.map((us) => us / 1e6);
    expect(intervalsS.slice(0, 5).every((s) => s > 1.0 && s < 1.2)).toBe(true);
    expect(intervalsS[5]).toBeGreaterThan(2.0);
    expect(intervalsS[5]).toBeLessThan(2.2);
    const firstSyn = socks!.syns[0]!.timeUs;
    const synAck = socks!.synAcks[0]!.timeUs;
    expect((synAck - firstSyn) / 1e6).toBeCloseTo(9.45, 1);
    expect(conns('zeek__pop3__pop3').some((c) => c.synRetransmissions.count === 1 && c.counts.synAck === 1)).toBe(true);
    expect(conns('suricata__bug-4376__syn_retransmit_with_ts')[0]!.synRetransmissions.count).toBe(1);
  });

  it('unanswered SYNs (retransmitted, then abandoned)', () => {
    const base64 = conns('suricata__base64-decode-5885__input').filter((c) => c.counts.syn > 0 && c.counts.synAck === 0 && c.counts.rst === 0);
    expect(base64).toHaveLength(13);
    expect(base64.every((c) => c.openAtEnd)).toBe(true);
    const retried = base64.filter((c) => c.synRetransmissions.count === 2);
    expect(retried.length).toBeGreaterThan(5);
    // Windows backoff: ~3 s then ~6 s.
    for (const c of retried) expect(c.synRetransmissions.intervalsUs.map((us) => Math.round(us / 1e6))).toEqual([3, 6]);
    expect(conns('zeek__nmap-vsn').filter((c) => c.counts.synAck === 0 && c.counts.rst === 0)).toHaveLength(8);
  });

  it('SYN flood: bug-7657 is 24 connections on one 4-tuple (random ISNs, tshark numbering); the firewall test is 200', () => {
    const flood = conns('suricata__bug-7657-01__input');
    expect(flood).toHaveLength(24);
    expect(new Set(flood.map((c) => `${c.a} ${c.b}`)).size).toBe(1);
    const last = flood[23]!;
    expect(last.counts.synAck).toBe(1);
    expect(last.openAtEnd).toBe(true); // client FIN acknowledged, server never sent its FIN (CLOSE_WAIT)
    expect(last.finAcked).toEqual({ a: true, b: false });
    const firewall = conns('suricata__firewall__tcp-session-syn-flood-drop-precedence__input');
    expect(firewall).toHaveLength(200);
    expect(firewall.every((c) => c.counts.syn === 1 && c.packets === 1 && c.openAtEnd)).toBe(true);
  });

  it('simultaneous open (SYN from both sides): split-handshake-01-4whs', () => {
    const [c] = conns('suricata__tcp-split-handshake-01-4whs__split-handshake-4whs');
    expect(c!.simultaneousOpen).toBe(true);
    expect(c!.syns.map((m) => m.from)).toEqual(['a', 'b']);
    // 5whs: the server's SYN follows its own ACK with a new ISN, so tshark (and we) start a second connection.
    const five = conns('suricata__tcp-split-handshake-02-5whs__split-handshake-5whs');
    expect(five).toHaveLength(2);
    expect(five.every((c2) => !c2.simultaneousOpen)).toBe(true);
    expect(conns('tcpdump__dns_tcp')[0]!.simultaneousOpen).toBe(false);
  });

  it('simultaneous close (FINs cross)', () => {
    expect(conns('zeek__http__get-gzip')[0]!.simultaneousClose).toBe(true);
    expect(conns('zeek__http__get-gzip')[0]!.mergedFinAckClose).toBe(false);
    const mysql = conns('zeek__mysql__auth');
    expect(mysql.filter((c) => c.simultaneousClose && !c.mergedFinAckClose)).toHaveLength(13);
    expect(conns('zeek__ftp__ipv6-violation')[0]!.simultaneousClose).toBe(true);
    expect(conns('zeek__port4242')[0]!.simultaneousClose).toBe(false);
  });

  it('half-close (data after the peer FIN was acknowledged)', () => {
    expect(conns('tcpdump__mptcp-v1')[0]!.halfClose).toBe(true);
    const smtp = conns('zeek__smtp__smtp-bdat-cmd-invalid.pcapng');
    expect(smtp.filter((c) => c.halfClose)).toHaveLength(3);
    const of13 = conns('tcpdump__of13_ericsson.pcapng').filter((c) => c.halfClose);
    expect(of13).toHaveLength(1);
    expect(of13[0]!.closedBy).toBe('rst');
    expect(conns('tcpdump__whois')[0]!.halfClose).toBe(false);
  });

  it('RST mid-stream / abortive close', () => {
    for (const base of ['tcpdump__mptcp-fclose', 'zeek__tcp__rst-inject-rae', 'zeek__ldap__modify-request.pcapng', 'zeek__ftp__ipv6-violation']) {
      const c = conns(base).find((x) => x.counts.data > 0 && x.closedBy === 'rst');
      expect(c, base).toBeDefined();
    }
    const ldap = conns('zeek__ldap__modify-request.pcapng')[0]!;
    expect(ldap.rsts[0]).toMatchObject({ from: 'b', inReplyTo: 'FIN' }); // the server answers the client's FIN with RST
    const nmapConnectScan = conns('zeek__nmap-vsn').filter((c) => c.counts.synAck === 1 && c.rsts[0]?.from === 'a');
    expect(nmapConnectScan).toHaveLength(3);
    const lone = conns('tcpdump__tcp_rst_data')[0]!;
    expect(lone.rsts[0]).toMatchObject({ inReplyTo: 'none', payloadLength: lone.bytesAtoB });
  });

  it('FIN retransmitted / LAST_ACK never acknowledged', () => {
    const socks = conns('zeek__socks')[0]!;
    expect(socks.finRetransmissions).toBe(5);
    expect(socks.finAcked).toEqual({ a: false, b: true });
    expect(socks.openAtEnd).toBe(true);
    expect(conns('tcpdump__ssh')[0]!.finRetransmissions).toBe(1);
  });

  it('connections still open at the end of the capture', () => {
    for (const base of ['tcpdump__bgp-bgpsec', 'tcpdump__tcp-handshake-nano', 'tcpdump__accecn_handshake', 'suricata__decode-sll2-01__input']) {
      expect(
        conns(base).some((c) => c.openAtEnd && c.counts.synAck === 1),
        base,
      ).toBe(true);
    }
  });

  it('mid-stream pickup (no handshake seen)', () => {
    const of13 = conns('tcpdump__of13_ericsson.pcapng');
    expect(of13).toHaveLength(21);
    expect(of13.filter((c) => c.midStream)).toHaveLength(19);
    expect(conns('tcpdump__tcp_rst_data')[0]!.midStream).toBe(true);
  });

  it('capture artefacts: duplicated frames, NAT doubles, reordering', () => {
    // pptp: every server frame was captured twice on the same interface. tshark counts the copies
    // (packets, retransmissions); so do we — dedupeAcrossInterfaces only drops copies from *other* interfaces.
    const pptp = conns('tcpdump__pptp')[0]!;
    expect(pptp.packets).toBe(22);
    expect(pptp.synAckRetransmissions.count).toBe(1);
    expect(pptp.finRetransmissions).toBe(1);
    // tfo: the same flow before and after NAT is two connections (different client addresses).
    expect(conns('tcpdump__tfo-5c1fa7f9ae91')).toHaveLength(3);
    // handshake-reorder: the SYN-ACK comes first, but the client is still the SYN sender.
    const reorder = conns('zeek__tcp__handshake-reorder')[0]!;
    expect(reorder.synAcks[0]!.frame).toBeLessThan(reorder.syns[0]!.frame);
    expect(reorder.a).toBe('141.142.228.5:59856');
    expect(reorder.midStream).toBe(false);
  });

  it('invalid / odd flags', () => {
    const eight = decodeCaptureBuffer(readCapture('tcpdump__tcp_eight_lowest_weight_flags_set.pcap')).segments[0]!;
    expect(eight.flags).toBe(0xff);
    const accecn = decodeCaptureBuffer(readCapture('tcpdump__accecn_handshake.pcap')).segments[0]!;
    expect(accecn).toMatchObject({ flags: 0xc2, ae: true });
    const finInSynSent = conns('zeek__tcp__fin_retransmission')[0]!;
    expect(finInSynSent.fins[0]!.frame).toBeLessThan(finInSynSent.synAcks[0]!.frame);
    const inject = conns('zeek__tcp__rst-inject-rae')[0]!;
    expect(inject.rsts[0]).toMatchObject({ frame: 2, from: 'b', inReplyTo: 'SYN' });
    expect(inject.counts.rst).toBe(3);
  });

  it('analyzeCapture also reads a file path', async () => {
    const analysis = await analyzeCapture(join(corpusDir, 'zeek__web.pcap'));
    expect(analysis.connections).toHaveLength(2);
    expect(analysis.segments).toBe(24);
  });
});
