#!/usr/bin/env node
// Writes one small pcap per link type / encapsulation that tcplab decodes, each holding one complete
// TCP connection (SYN, SYN-ACK, ACK, data both ways, FIN/ACK each way) wrapped in that encapsulation:
//   node scripts/make-encap-captures.mjs OUT_DIR
// The files in test/fixtures/encap/ were written by this script; test/unit/observe/encapsulations.test.ts
// decodes them and, where tshark is installed, checks tshark finds the same TCP frames and streams.
// Every header is built here by hand from its specification (cited per builder); nothing is copied.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const out = process.argv[2];
if (!out) {
  console.error('usage: make-encap-captures.mjs OUT_DIR');
  process.exit(2);
}
mkdirSync(out, { recursive: true });

const u16 = (v) => Buffer.from([(v >> 8) & 0xff, v & 0xff]);
const u32 = (v) => Buffer.from([(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff]);
const le16 = (v) => Buffer.from([v & 0xff, (v >> 8) & 0xff]);
const cat = (...parts) => Buffer.concat(parts);
const ip4 = (s) => Buffer.from(s.split('.').map(Number));
function ip6(s) {
  const [head, tail = ''] = s.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return Buffer.concat(groups.map((g) => u16(parseInt(g, 16))));
}
const MAC_A = Buffer.from([0x02, 0, 0, 0, 0, 0x0a]);
const MAC_B = Buffer.from([0x02, 0, 0, 0, 0, 0x0b]);

function checksum(b) {
  let sum = 0;
  for (let i = 0; i + 1 < b.length; i += 2) sum += (b[i] << 8) | b[i + 1];
  if (b.length % 2) sum += b[b.length - 1] << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return ~sum & 0xffff;
}
let ipId = 1;
/** IPv4 header (RFC 791) with a correct header checksum. */
function ipv4(src, dst, protocol, payload) {
  const h = cat(Buffer.from([0x45, 0]), u16(20 + payload.length), u16(ipId++ & 0xffff), u16(0x4000), Buffer.from([64, protocol]), u16(0), ip4(src), ip4(dst));
  h.writeUInt16BE(checksum(h), 10);
  return cat(h, payload);
}
/** IPv6 header (RFC 8200). */
const ipv6 = (src, dst, next, payload) => cat(u32(0x60000000), u16(payload.length), Buffer.from([next, 64]), ip6(src), ip6(dst), payload);
/** TCP header without options (RFC 9293 §3.1); checksum left 0 (tshark does not verify it by default). */
const tcp = (sport, dport, seq, ack, flags, data) =>
  cat(u16(sport), u16(dport), u32(seq), u32(ack), Buffer.from([0x50, flags]), u16(64240), u16(0), u16(0), data);
const udp = (sport, dport, payload) => cat(u16(sport), u16(dport), u16(8 + payload.length), u16(0), payload);
const ethernet = (type, payload) => cat(MAC_B, MAC_A, u16(type), payload);

const F = { FIN: 0x01, SYN: 0x02, PSH: 0x08, ACK: 0x10 };
/** One complete connection as [fromClient, tcp segment] pairs. */
function connection(cport = 40000, sport = 80, isnC = 1000, isnS = 5000) {
  const req = Buffer.from('GET / HTTP/1.0\r\n\r\n');
  const resp = Buffer.from('HTTP/1.0 200 OK\r\n\r\nhello');
  let c = isnC;
  let s = isnS;
  const segs = [];
  const push = (fromClient, flags, data = Buffer.alloc(0)) => {
    segs.push([fromClient, fromClient ? tcp(cport, sport, c, s, flags, data) : tcp(sport, cport, s, c, flags, data)]);
    const used = data.length + (flags & (F.SYN | F.FIN) ? 1 : 0);
    if (fromClient) c += used;
    else s += used;
  };
  // The ACK field of a SYN is 0 on the wire; patch it after building.
  push(true, F.SYN);
  segs[0][1].writeUInt32BE(0, 8);
  push(false, F.SYN | F.ACK);
  push(true, F.ACK);
  push(true, F.PSH | F.ACK, req);
  push(false, F.ACK);
  push(false, F.PSH | F.ACK, resp);
  push(true, F.ACK);
  push(true, F.FIN | F.ACK);
  push(false, F.ACK);
  push(false, F.FIN | F.ACK);
  push(true, F.ACK);
  return segs;
}
const CLIENT = '10.1.0.1';
const SERVER = '10.2.0.2';
const CLIENT6 = '2001:db8:1::1';
const SERVER6 = '2001:db8:2::2';
const OUTER_A = '192.0.2.1';
const OUTER_B = '192.0.2.2';
const inner4 = (fromClient, seg) => (fromClient ? ipv4(CLIENT, SERVER, 6, seg) : ipv4(SERVER, CLIENT, 6, seg));
const inner6 = (fromClient, seg) => (fromClient ? ipv6(CLIENT6, SERVER6, 6, seg) : ipv6(SERVER6, CLIENT6, 6, seg));
const outer4 = (fromClient, protocol, payload) => (fromClient ? ipv4(OUTER_A, OUTER_B, protocol, payload) : ipv4(OUTER_B, OUTER_A, protocol, payload));

/** GRE version 0 header (RFC 2784, key and sequence RFC 2890). */
function gre(protocol, { key, seq } = {}) {
  const flags = (key !== undefined ? 0x2000 : 0) | (seq !== undefined ? 0x1000 : 0);
  return cat(u16(flags), u16(protocol), key !== undefined ? u32(key) : Buffer.alloc(0), seq !== undefined ? u32(seq) : Buffer.alloc(0));
}
const vlanTag = (id, next) => cat(u16(id), u16(next));

function pcap(linkType, frames) {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(262144, 16);
  head.writeUInt32LE(linkType, 20);
  const records = frames.map((f, i) => {
    const r = Buffer.alloc(16);
    r.writeUInt32LE(1_700_000_000 + i, 0);
    r.writeUInt32LE(1000 * i, 4);
    r.writeUInt32LE(f.length, 8);
    r.writeUInt32LE(f.length, 12);
    return cat(r, f);
  });
  return cat(head, ...records);
}
const wrap = (linkType, frameOf) =>
  pcap(
    linkType,
    connection().map(([fromClient, seg], i) => frameOf(fromClient, seg, i)),
  );
let seqNo = 0;

const captures = {
  // Cisco HDLC (LINKTYPE_C_HDLC 104): address 0x0f, control 0, EtherType.
  'c-hdlc.pcap': wrap(104, (c, s) => cat(Buffer.from([0x0f, 0x00]), u16(0x0800), inner4(c, s))),
  // Linux NFLOG (LINKTYPE_NFLOG 239): AF_INET, version 0, resource id 5; TLVs in little-endian host order:
  // NFULA_PACKET_HDR (1), NFULA_PREFIX (10, "drop"), NFULA_PAYLOAD (9, the IP packet).
  'nflog.pcap': wrap(239, (c, s) => {
    const ip = inner4(c, s);
    const tlv = (type, value) => cat(le16(4 + value.length), le16(type), value, Buffer.alloc((4 - (value.length % 4)) % 4));
    return cat(Buffer.from([2, 0]), u16(5), tlv(1, cat(u16(0x0800), Buffer.from([3, 0]))), tlv(10, Buffer.from('drop\0')), tlv(9, ip));
  }),
  // PPP (LINKTYPE_PPP 9): FF 03, protocol 0x0021.
  'ppp.pcap': wrap(9, (c, s) => cat(Buffer.from([0xff, 0x03]), u16(0x0021), inner4(c, s))),
  // PPPoE session (RFC 2516) inside QinQ: 802.1ad 100, 802.1Q 200, 0x8864, PPP 0x0021.
  'pppoe-qinq.pcap': wrap(1, (c, s) => {
    const ip = inner4(c, s);
    const ppp = cat(u16(0x0021), ip);
    const pppoe = cat(Buffer.from([0x11, 0x00]), u16(0x0011), u16(ppp.length), ppp);
    return cat(MAC_B, MAC_A, u16(0x88a8), vlanTag(100, 0x8100), vlanTag(200, 0x8864), pppoe);
  }),
  // QinQ four tags deep (0x88a8, 0x8100 ×3).
  'qinq-4-deep.pcap': wrap(1, (c, s) =>
    cat(MAC_B, MAC_A, u16(0x88a8), vlanTag(10, 0x8100), vlanTag(20, 0x8100), vlanTag(30, 0x8100), vlanTag(40, 0x0800), inner4(c, s)),
  ),
  // One connection mirrored on VLANs 10, 20 and 30: three connections, no retransmissions.
  'vlan-mirror-3.pcap': pcap(
    1,
    connection().flatMap(([c, s]) => [10, 20, 30].map((id) => cat(MAC_B, MAC_A, u16(0x8100), vlanTag(id, 0x0800), inner4(c, s)))),
  ),
  // GRE (protocol 47) with a key, carrying IPv4.
  'gre-ipv4.pcap': wrap(1, (c, s) => ethernet(0x0800, outer4(c, 47, cat(gre(0x0800, { key: 42 }), inner4(c, s))))),
  // GRE over IPv6 carrying IPv4.
  'gre-over-ipv6.pcap': wrap(1, (c, s) =>
    ethernet(
      0x86dd,
      c ? ipv6('2001:db8::a', '2001:db8::b', 47, cat(gre(0x0800), inner4(c, s))) : ipv6('2001:db8::b', '2001:db8::a', 47, cat(gre(0x0800), inner4(c, s))),
    ),
  ),
  // GRE transparent Ethernet bridging (0x6558).
  'gre-teb.pcap': wrap(1, (c, s) => ethernet(0x0800, outer4(c, 47, cat(gre(0x6558), ethernet(0x0800, inner4(c, s)))))),
  // PPTP enhanced GRE (RFC 2637): version 1, K and S set, protocol 0x880b, PPP FF 03 0021.
  'gre-pptp.pcap': wrap(1, (c, s, i) => {
    const ppp = cat(Buffer.from([0xff, 0x03]), u16(0x0021), inner4(c, s));
    const header = cat(u16(0x3001), u16(0x880b), u16(ppp.length), u16(c ? 0x1111 : 0x2222), u32(i + 1));
    return ethernet(0x0800, outer4(c, 47, cat(header, ppp)));
  }),
  // ERSPAN type I: GRE 0x88be without a sequence number, then the mirrored Ethernet frame.
  'erspan-i.pcap': wrap(1, (c, s) => ethernet(0x0800, outer4(c, 47, cat(gre(0x88be), ethernet(0x0800, inner4(c, s)))))),
  // ERSPAN type II: GRE 0x88be with sequence, 8-byte header (version 1, VLAN 0, session 7, index 0).
  'erspan-ii.pcap': wrap(1, (c, s) =>
    ethernet(0x0800, outer4(c, 47, cat(gre(0x88be, { seq: seqNo++ }), u16(0x1000), u16(7), u32(0), ethernet(0x0800, inner4(c, s))))),
  ),
  // ERSPAN type III: GRE 0x22eb, 12-byte header (version 2, session 9, timestamp, FT 0), O bit set + 8-byte sub-header.
  'erspan-iii.pcap': wrap(1, (c, s, i) =>
    ethernet(
      0x0800,
      outer4(c, 47, cat(gre(0x22eb, { seq: i }), u16(0x2000), u16(9), u32(i * 100), u16(0), u16(0x0001), Buffer.alloc(8), ethernet(0x0800, inner4(c, s)))),
    ),
  ),
  // Aruba GRE (0x8200): an 802.11 QoS data frame (to-DS from the client, from-DS to it), LLC/SNAP, IPv4.
  'gre-aruba.pcap': wrap(1, (c, s) => {
    const fc = cat(Buffer.from([0x88, c ? 0x01 : 0x02]), u16(0));
    const wlan = cat(fc, MAC_B, MAC_A, MAC_B, u16(0), u16(0), Buffer.from([0xaa, 0xaa, 0x03, 0, 0, 0]), u16(0x0800), inner4(c, s));
    return ethernet(0x0800, outer4(c, 47, cat(gre(0x8200), wlan)));
  }),
  // 802.11 (LINKTYPE_IEEE802_11 105) data frames with LLC/SNAP.
  'ieee802-11.pcap': wrap(105, (c, s) =>
    cat(Buffer.from([0x08, c ? 0x01 : 0x02]), u16(0), MAC_B, MAC_A, MAC_B, u16(0), Buffer.from([0xaa, 0xaa, 0x03, 0, 0, 0]), u16(0x0800), inner4(c, s)),
  ),
  // VXLAN (RFC 7348): UDP 4789, flags 0x08, VNI 4242, inner Ethernet.
  'vxlan.pcap': wrap(1, (c, s) =>
    ethernet(0x0800, outer4(c, 17, udp(c ? 50001 : 50002, 4789, cat(u32(0x08000000), u32(4242 << 8), ethernet(0x0800, inner4(c, s)))))),
  ),
  // Geneve (RFC 8926): UDP 6081, one 8-byte option (opt len 2), protocol 0x6558, VNI 77.
  'geneve.pcap': wrap(1, (c, s) =>
    ethernet(
      0x0800,
      outer4(
        c,
        17,
        udp(
          c ? 50001 : 50002,
          6081,
          cat(Buffer.from([0x02, 0x00]), u16(0x6558), u32(77 << 8), u16(0x0102), Buffer.from([0x03, 0x01]), u32(0xdeadbeef), ethernet(0x0800, inner4(c, s))),
        ),
      ),
    ),
  ),
  // MPLS (RFC 3032): two labels (16, then 1000 with bottom-of-stack), IPv4.
  'mpls.pcap': wrap(1, (c, s) => ethernet(0x8847, cat(u32((16 << 12) | 64), u32((1000 << 12) | 0x100 | 64), inner4(c, s)))),
  // IP-in-IP (protocol 4).
  'ipip.pcap': wrap(1, (c, s) => ethernet(0x0800, outer4(c, 4, inner4(c, s)))),
  // 6in4 (protocol 41): IPv6 TCP inside IPv4.
  '6in4.pcap': wrap(1, (c, s) => ethernet(0x0800, outer4(c, 41, inner6(c, s)))),
  // A link type tcplab does not decode (LINKTYPE_USER0 147): no TCP, every frame skipped and named.
  'unknown-link-type.pcap': wrap(147, (c, s) => cat(Buffer.from([0xde, 0xad]), inner4(c, s))),
};

for (const [name, bytes] of Object.entries(captures)) writeFileSync(join(out, name), bytes);
console.log(`${Object.keys(captures).length} captures written to ${out}`);
