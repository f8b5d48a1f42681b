// Hand-built frames for what the corpus lacks: stacked VLANs, LOOP in network order, raw IP link
// types, IPv6 extension headers, pcapng big-endian with nanosecond if_tsresol, SPB, several
// sections; plus the tracker's memory bound and the cross-interface deduper.
import { describe, expect, it } from 'vitest';
import { decodeCaptureBuffer } from '../../../src/observe/capture-decoder.js';
import { dedupeAcrossInterfaces } from '../../../src/observe/interface-dedupe.js';
import { formatIpv6, parseIpv6 } from '../../../src/observe/ip-address.js';
import type { TcpSegment } from '../../../src/observe/packet.js';
import { ConnectionTracker, type TcpConnection } from '../../../src/verify/connections.js';

function tcpHeader(sport: number, dport: number, seq: number, flags: number, options: number[] = []): Buffer {
  const optLen = Math.ceil(options.length / 4) * 4;
  const h = Buffer.alloc(20 + optLen);
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  h.writeUInt32BE(seq, 4);
  h.writeUInt32BE(0, 8);
  h[12] = ((20 + optLen) / 4) << 4;
  h[13] = flags;
  h.writeUInt16BE(1000, 14);
  Buffer.from(options).copy(h, 20);
  return h;
}
function ipv4(tcp: Buffer, payload = 0): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + tcp.length + payload, 2);
  h.writeUInt16BE(0x1234, 4);
  h[9] = 6;
  h.writeUInt32BE(0x0a000001, 12);
  h.writeUInt32BE(0x0a000002, 16);
  return Buffer.concat([h, tcp, Buffer.alloc(payload)]);
}
function ipv6(tcp: Buffer, ext: Buffer = Buffer.alloc(0), firstNext = 6): Buffer {
  const h = Buffer.alloc(40);
  h[0] = 0x60;
  h.writeUInt16BE(ext.length + tcp.length, 4);
  h[6] = firstNext;
  Buffer.from(parseIpv6('2001:db8::1')!).copy(h, 8);
  Buffer.from(parseIpv6('fe80::1:0:0:2')!).copy(h, 24);
  return Buffer.concat([h, ext, tcp]);
}
function pcap(linkType: number, frames: Buffer[], bigEndian = false): Buffer {
  const w32 = (b: Buffer, v: number, o: number): number => (bigEndian ? b.writeUInt32BE(v, o) : b.writeUInt32LE(v, o));
  const head = Buffer.alloc(24);
  w32(head, 0xa1b2c3d4, 0);
  w32(head, 65535, 16);
  w32(head, linkType, 20);
  const records = frames.map((f, i) => {
    const r = Buffer.alloc(16);
    w32(r, 1000 + i, 0);
    w32(r, 5, 4);
    w32(r, f.length, 8);
    w32(r, f.length, 12);
    return Buffer.concat([r, f]);
  });
  return Buffer.concat([head, ...records]);
}
const SYN = 0x02;

describe('link types and IP variants', () => {
  it('Ethernet with stacked 802.1ad + 802.1Q tags', () => {
    const eth = Buffer.alloc(22);
    eth.writeUInt16BE(0x88a8, 12);
    eth.writeUInt16BE(0x8100, 16);
    eth.writeUInt16BE(0x0800, 20);
    const { segments } = decodeCaptureBuffer(pcap(1, [Buffer.concat([eth, ipv4(tcpHeader(1, 2, 7, SYN, [2, 4, 5, 0xb4, 3, 3, 7, 1]))])]));
    expect(segments[0]).toMatchObject({
      src: '10.0.0.1',
      dst: '10.0.0.2',
      srcPort: 1,
      dstPort: 2,
      seq: 7,
      flags: SYN,
      ipId: 0x1234,
      options: { mss: 1460, windowScale: 7 },
    });
  });

  it('LOOP (108) in network order, NULL (0) in host order, RAW 101/12/14, IPV4 228, IPV6 229', () => {
    const af = (v: number, be: boolean): Buffer => {
      const b = Buffer.alloc(4);
      if (be) b.writeUInt32BE(v);
      else b.writeUInt32LE(v);
      return b;
    };
    const frame4 = ipv4(tcpHeader(10, 20, 1, SYN));
    const frame6 = ipv6(tcpHeader(10, 20, 1, SYN));
    expect(decodeCaptureBuffer(pcap(108, [Buffer.concat([af(2, true), frame4])])).segments[0]!.family).toBe(4);
    expect(decodeCaptureBuffer(pcap(0, [Buffer.concat([af(30, false), frame6])])).segments[0]!.family).toBe(6);
    for (const lt of [101, 12, 14]) expect(decodeCaptureBuffer(pcap(lt, [frame4, frame6])).stats.tcpSegments).toBe(2);
    expect(decodeCaptureBuffer(pcap(228, [frame4])).segments[0]!.dst).toBe('10.0.0.2');
    const six = decodeCaptureBuffer(pcap(229, [frame6], true)).segments[0]!;
    expect([six.src, six.dst]).toEqual(['2001:db8::1', 'fe80::1:0:0:2']);
  });

  it('walks IPv6 hop-by-hop and fragment headers; skips later fragments; counts non-TCP', () => {
    const hop = Buffer.from([44, 0, 0, 0, 0, 0, 0, 0]); // hop-by-hop → fragment
    const firstFragment = Buffer.from([6, 0, 0, 0, 0, 0, 0, 1]);
    const laterFragment = Buffer.from([6, 0, 0, 8, 0, 0, 0, 1]);
    const tcp = tcpHeader(5, 6, 9, SYN);
    const first = ipv6(tcp, Buffer.concat([hop, firstFragment]), 0);
    const later = ipv6(tcp, Buffer.concat([hop, laterFragment]), 0);
    const udp = ipv6(Buffer.alloc(8), Buffer.alloc(0), 17);
    const { segments, stats } = decodeCaptureBuffer(pcap(101, [first, later, udp]));
    expect(segments.map((s) => [s.frame, s.seq, s.payloadLength])).toEqual([[1, 9, 0]]);
    expect(stats).toMatchObject({ frames: 3, tcpSegments: 1, skippedNonTcp: 1 });
    expect([...stats.skipped]).toEqual([['IPv6 fragment after the first (not reassembled)', 1]]);
  });

  it('payloadLength comes from the IP header, not the captured bytes; bad option lengths are survived', () => {
    const full = ipv4(tcpHeader(1, 2, 3, 0x18, [8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 5, 1, 0, 0]), 1000);
    const cut = full.subarray(0, 60);
    const seg = decodeCaptureBuffer(pcap(101, [cut])).segments[0]!;
    expect(seg.payloadLength).toBe(1000);
    expect(seg.options).toEqual({ timestamp: { value: 1, echo: 2 } }); // the SACK option with length 1 stops the walk
  });

  it('RFC 5952 formatting', () => {
    expect(formatIpv6(parseIpv6('2001:0db8:0000:0000:0001:0000:0000:0001')!, 0)).toBe('2001:db8::1:0:0:1');
    expect(formatIpv6(parseIpv6('::')!, 0)).toBe('::');
    expect(formatIpv6(parseIpv6('1:0:2:3:4:5:6:7')!, 0)).toBe('1:0:2:3:4:5:6:7');
  });
});

describe('pcapng variants', () => {
  function block(type: number, body: Buffer, be: boolean): Buffer {
    const len = 12 + Math.ceil(body.length / 4) * 4;
    const b = Buffer.alloc(len);
    const w = (v: number, o: number): number => (be ? b.writeUInt32BE(v, o) : b.writeUInt32LE(v, o));
    w(type, 0);
    w(len, 4);
    body.copy(b, 8);
    w(len, len - 4);
    return b;
  }
  function section(be: boolean, tsresol: number | undefined, packets: Array<{ type: 'epb' | 'spb'; frame: Buffer; ts?: bigint }>): Buffer {
    const w16 = (b: Buffer, v: number, o: number): number => (be ? b.writeUInt16BE(v, o) : b.writeUInt16LE(v, o));
    const w32 = (b: Buffer, v: number, o: number): number => (be ? b.writeUInt32BE(v, o) : b.writeUInt32LE(v, o));
    const shb = Buffer.alloc(16);
    w32(shb, 0x1a2b3c4d, 0);
    w16(shb, 1, 4);
    shb.writeBigInt64LE(-1n, 8);
    const idb = Buffer.alloc(tsresol === undefined ? 8 : 16);
    w16(idb, 101, 0);
    w32(idb, 65535, 4);
    if (tsresol !== undefined) {
      w16(idb, 9, 8);
      w16(idb, 1, 10);
      idb[12] = tsresol;
    }
    const blocks = [block(0x0a0d0d0a, shb, be), block(1, idb, be), block(4, Buffer.alloc(8), be)];
    for (const p of packets) {
      if (p.type === 'epb') {
        const h = Buffer.alloc(20);
        const ts = p.ts ?? 0n;
        w32(h, 0, 0);
        w32(h, Number(ts >> 32n), 4);
        w32(h, Number(ts & 0xffffffffn), 8);
        w32(h, p.frame.length, 12);
        w32(h, p.frame.length, 16);
        blocks.push(block(6, Buffer.concat([h, p.frame]), be));
      } else {
        const h = Buffer.alloc(4);
        w32(h, p.frame.length, 0);
        blocks.push(block(3, Buffer.concat([h, p.frame]), be));
      }
    }
    return Buffer.concat(blocks);
  }
  const frame = ipv4(tcpHeader(1, 2, 3, SYN));

  it('big-endian section with nanosecond timestamps, then a little-endian µs section with an SPB', () => {
    const ns = 1_700_000_000_123_456_789n;
    const file = Buffer.concat([
      section(true, 9, [{ type: 'epb', frame, ts: ns }]),
      section(false, undefined, [
        { type: 'epb', frame, ts: 1_700_000_001_000_000n },
        { type: 'spb', frame },
      ]),
    ]);
    const { segments, stats } = decodeCaptureBuffer(file);
    expect(stats).toMatchObject({ format: 'pcapng', frames: 3, tcpSegments: 3, linkTypes: [101] });
    // 1_700_000_000_123_456.789 µs is not a double: at this size doubles step by 0.25 µs, so the
    // nanoseconds survive as the nearest quarter microsecond.
    expect(segments[0]!.timeUs).toBe(1_700_000_000_123_456.75);
    expect(segments[1]!.timeUs).toBe(1_700_000_001_000_000);
    expect(segments[2]!.timeUs).toBe(1_700_000_001_000_000); // SPB: no timestamp, takes the previous one
    expect(segments.map((s) => s.interfaceId)).toEqual([0, 0, 0]);
  });

  it('binary if_tsresol (2^-v)', () => {
    const { segments } = decodeCaptureBuffer(section(false, 0x80 | 10, [{ type: 'epb', frame, ts: 1024n * 5n + 512n }]));
    expect(segments[0]!.timeUs).toBe(5_500_000);
  });

  it('an EPB for an undeclared interface is an error', () => {
    const file = section(false, undefined, [{ type: 'epb', frame }]);
    const broken = Buffer.from(file);
    const epbAt = file.length - (12 + 20 + Math.ceil(frame.length / 4) * 4);
    broken.writeUInt32LE(3, epbAt + 8);
    expect(() => decodeCaptureBuffer(broken)).toThrow(/refers to interface 3, but this section declares 1/);
  });
});

function seg(over: Partial<TcpSegment>): TcpSegment {
  return {
    frame: 1,
    timeUs: 0,
    family: 4,
    src: '10.0.0.1',
    dst: '10.0.0.2',
    srcPort: 1000,
    dstPort: 80,
    seq: 0,
    ack: 0,
    flags: 0,
    window: 1,
    payloadLength: 0,
    ...over,
  };
}

describe('ConnectionTracker memory bound and identity', () => {
  it('finalises closed connections (after the linger time) so 10k sequential connections hold few at a time', () => {
    const emitted: TcpConnection[] = [];
    const tracker = new ConnectionTracker({ onConnection: (c) => emitted.push(c), lingerUs: 1_000_000 });
    let maxHeld = 0;
    let frame = 0;
    for (let i = 0; i < 10_000; i++) {
      const t = i * 10_000; // 10 ms apart
      const sport = 10_000 + (i % 50_000);
      const c = { srcPort: sport };
      const s = { src: '10.0.0.2', dst: '10.0.0.1', srcPort: 80, dstPort: sport };
      tracker.push(seg({ ...c, frame: ++frame, timeUs: t, flags: 0x02, seq: 100 }));
      tracker.push(seg({ ...s, frame: ++frame, timeUs: t + 1, flags: 0x12, seq: 500, ack: 101 }));
      tracker.push(seg({ ...c, frame: ++frame, timeUs: t + 2, flags: 0x11, seq: 101, ack: 501 }));
      tracker.push(seg({ ...s, frame: ++frame, timeUs: t + 3, flags: 0x11, seq: 501, ack: 102 }));
      tracker.push(seg({ ...c, frame: ++frame, timeUs: t + 4, flags: 0x10, seq: 102, ack: 502 }));
      maxHeld = Math.max(maxHeld, tracker.openCount);
    }
    expect(maxHeld).toBeLessThan(300);
    expect(tracker.finish()).toEqual([]); // keepClosed is off: everything went to onConnection
    const all = emitted;
    expect(all).toHaveLength(10_000);
    expect(all.every((c) => c.closedBy === 'fin' && c.mergedFinAckClose && c.packets === 5)).toBe(true);
  });

  it('a SYN with a new ISN on a tuple starts a new connection; the same ISN is a retransmission', () => {
    const tracker = new ConnectionTracker({ keepClosed: true });
    tracker.push(seg({ frame: 1, timeUs: 0, flags: 0x02, seq: 100 }));
    tracker.push(seg({ frame: 2, timeUs: 1_000_000, flags: 0x02, seq: 100 }));
    tracker.push(seg({ frame: 3, timeUs: 2_000_000, flags: 0x02, seq: 999 }));
    const conns = tracker.finish();
    expect(conns.map((c) => [c.id, c.packets, c.synRetransmissions.count])).toEqual([
      [0, 2, 1],
      [1, 1, 0],
    ]);
    expect(conns[0]!.synRetransmissions.intervalsUs).toEqual([1_000_000]);
  });
});

describe('dedupeAcrossInterfaces', () => {
  it('drops a copy seen on another interface within 1 ms, keeps same-interface duplicates and later copies', () => {
    const keep = dedupeAcrossInterfaces();
    const base = { ipId: 7, seq: 1, flags: 0x10 };
    const results = [
      keep(seg({ ...base, frame: 1, timeUs: 0, interfaceId: 1 })),
      keep(seg({ ...base, frame: 2, timeUs: 100, interfaceId: 2 })), // veth → bridge copy
      keep(seg({ ...base, frame: 3, timeUs: 200, interfaceId: 3 })), // → eth0 copy
      keep(seg({ ...base, frame: 4, timeUs: 300, interfaceId: 1 })), // same interface: a real duplicate
      keep(seg({ ...base, frame: 5, timeUs: 5000, interfaceId: 2 })), // too late to be a copy
      keep(seg({ ...base, ipId: 8, frame: 6, timeUs: 5001, interfaceId: 3 })), // different IP id
    ];
    expect(results).toEqual([true, false, false, true, true, true]);
  });
});
