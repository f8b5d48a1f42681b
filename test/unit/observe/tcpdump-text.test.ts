// tcpdump text parser: cross-checked against tcpdump's own expected outputs for the corpus
// captures (made with -n -# -tttt, without -S: relative numbers), and synthetic -S / -i any lines.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeCaptureBuffer } from '../../../src/observe/capture-decoder.js';
import { TcpFlag } from '../../../src/observe/packet.js';
import { parseTcpdumpText } from '../../../src/observe/tcpdump-text.js';
import { TextParseError } from '../../../src/observe/text-parse-error.js';
import { readCapture, tcpdumpOutDir } from './corpus-helpers.js';

const CROSS_CHECKS: Array<[out: string, capture: string]> = [
  ['dns_tcp.out', 'tcpdump__dns_tcp.pcap'],
  ['whois.out', 'tcpdump__whois.pcap'],
  ['print-x.out', 'tcpdump__print-flags.pcap'], // with hex dump lines in between
  ['print-A.out', 'tcpdump__print-flags.pcap'], // with ASCII payload lines in between
  ['ssh.out', 'tcpdump__ssh.pcap'],
  ['tcp-handshake-nano-tt.out', 'tcpdump__tcp-handshake-nano.pcap'], // -q: `tcp 0`, epoch ns
  ['pptp.out', 'tcpdump__pptp.pcap'],
  ['resp_1.out', 'tcpdump__resp_1_benchmark.pcap'],
  ['of13_ericsson.out', 'tcpdump__of13_ericsson.pcapng'], // mid-stream, payload continuation lines
  ['mptcp-v1.out', 'tcpdump__mptcp-v1.pcap'],
  ['accecn_handshake.out', 'tcpdump__accecn_handshake.pcap'], // -v two-line form, [SEWe]
  ['tfo.out', 'tcpdump__tfo-5c1fa7f9ae91.pcap'],
];

describe('tcpdump text cross-check against the corpus .out files', () => {
  for (const [out, capture] of CROSS_CHECKS) {
    it(`${out} matches ${capture}`, () => {
      const { rows } = parseTcpdumpText(readFileSync(join(tcpdumpOutDir, out), 'utf8'), { sequenceNumbers: 'relative' });
      const { segments } = decodeCaptureBuffer(readCapture(capture));
      expect(rows.map((r) => r.number)).toEqual(segments.map((s) => s.frame));
      rows.forEach((row, i) => {
        const seg = segments[i]!;
        const where = `${out} line ${row.line}`;
        expect([row.src, row.srcPort, row.dst, row.dstPort, row.length], where).toEqual([seg.src, seg.srcPort, seg.dst, seg.dstPort, seg.payloadLength]);
        if (row.timeKind === 'epoch') expect(row.timeUs, where).toBeCloseTo(seg.timeUs, 3);
        if (row.timeKind === 'date-time') expect(row.timeUs, where).toBe(seg.timeUs);
        if (row.flags === undefined) return; // -q
        expect(row.flags, where).toBe(seg.flags);
        if (row.absoluteSeq !== undefined) expect(row.absoluteSeq, where).toBe(seg.seq);
        if (row.absoluteAck !== undefined) expect(row.absoluteAck, where).toBe(seg.ack);
        if (row.seqEnd !== undefined && row.seq !== undefined) expect(row.seqEnd - row.seq, where).toBe(seg.payloadLength);
      });
    });
  }

  it('marks relative rows: the SYN and SYN-ACK are absolute, later ACK-bearing rows relative', () => {
    const { rows, skippedLines } = parseTcpdumpText(readFileSync(join(tcpdumpOutDir, 'dns_tcp.out'), 'utf8'), { sequenceNumbers: 'relative' });
    expect(rows.map((r) => r.relative)).toEqual([false, false, true, true, true, true, true, true, true, true, true]);
    expect(rows[3]).toMatchObject({ seq: 1, seqEnd: 59, ack: 1, absoluteSeq: 603899917, window: 64240, length: 58 });
    expect(skippedLines).toBe(1); // the trailing empty line
  });

  it('reads the accecn -v pair as one row with the AE bit', () => {
    const { rows } = parseTcpdumpText(readFileSync(join(tcpdumpOutDir, 'accecn_handshake.out'), 'utf8'));
    expect(rows[0]).toMatchObject({ flagsText: 'SEWe', ae: true, flags: TcpFlag.SYN | TcpFlag.ECE | TcpFlag.CWR, seq: 1948076589, line: 1 });
  });
});

describe('tcpdump -n -S -tt and -i any forms', () => {
  const text = [
    '1795236260.705985 IP 10.0.0.2.40000 > 10.0.0.3.80: Flags [S], seq 1000, win 64240, options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0',
    '1795236260.706100 IP 10.0.0.3.80 > 10.0.0.2.40000: Flags [R.], seq 0, ack 1001, win 0, length 0',
    '1795236261.000000 lo    In  IP6 ::1.4242 > ::1.37927: Flags [FP.], seq 5:10, ack 7, win 512, length 5',
    '1795236261.000001 eth0  Out IP 10.0.0.2.53 > 10.0.0.3.5353: 17177+ A? example.com. (29)',
    '1795236261.000002 ARP, Request who-has 10.0.0.3 tell 10.0.0.2, length 28',
    '12:00:01.500000 IP 10.0.0.2.1 > 10.0.0.3.2: Flags [none], seq 1, win 0, length 0',
    '',
  ].join('\n');

  it('parses fields, interfaces and time kinds; skips non-TCP lines', () => {
    const { rows, skippedLines } = parseTcpdumpText(text);
    expect(skippedLines).toBe(3);
    expect(rows[0]).toMatchObject({
      timeKind: 'epoch',
      timeUs: 1795236260705985,
      src: '10.0.0.2',
      srcPort: 40000,
      flags: TcpFlag.SYN,
      seq: 1000,
      window: 64240,
      length: 0,
      relative: false,
    });
    expect(rows[0]!.optionsText).toBe('mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7');
    expect(rows[1]).toMatchObject({ flags: TcpFlag.RST | TcpFlag.ACK, seq: 0, ack: 1001, window: 0 });
    expect(rows[2]).toMatchObject({
      interface: 'lo',
      direction: 'In',
      family: 6,
      src: '::1',
      srcPort: 4242,
      dstPort: 37927,
      flags: TcpFlag.FIN | TcpFlag.PSH | TcpFlag.ACK,
      seq: 5,
      seqEnd: 10,
      length: 5,
    });
    expect(rows[3]).toMatchObject({ timeKind: 'time-of-day', timeUs: (12 * 3600 + 1.5) * 1e6, flags: 0, flagsText: 'none' });
  });

  it('rejects malformed TCP lines with the line number', () => {
    const bad = 'x\n1795236260.705985 IP 10.0.0.2.40000 > 10.0.0.3.80: Flags [SX], seq 1, length 0\n';
    expect(() => parseTcpdumpText(bad)).toThrow(TextParseError);
    expect(() => parseTcpdumpText(bad)).toThrow(/line 2: unknown flag letter "X"/);
    expect(() => parseTcpdumpText('1.0 IP 1.2.3.4.5 > 1.2.3.4.6: Flags [S], seq 1, win 5')).toThrow(/line 1: expected `, length N`/);
  });
});
