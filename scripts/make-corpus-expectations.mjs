#!/usr/bin/env node
// Generates test/fixtures/corpus/expected/<capture>.json from tshark, the reference analyser, so the
// unit tests can compare the decoder and the connection tracker with it without needing tshark.
//
// Usage: node scripts/make-corpus-expectations.mjs [corpus-dir]   (default test/fixtures/corpus)
//
// Per capture: total frames, every TCP segment tshark decodes (outside ICMP error payloads) as
// [frame, stream, flags (12 bits: 0x100 is AE/NS), seq, ack, len, src, srcPort, dst, dstPort,
// retransmission 0/1], and per tshark stream (tcp.stream): packets, SYN (without ACK), SYN-ACK,
// FIN, RST, retransmitted SYNs (tshark tcp.analysis.retransmission on a SYN without ACK), all
// tshark retransmissions, and the payload bytes each way.
import { execFileSync } from 'node:child_process';
import { readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2] ?? 'test/fixtures/corpus';
const outDir = join(dir, 'expected');
mkdirSync(outDir, { recursive: true });

const version = execFileSync('tshark', ['--version'], { encoding: 'utf8' }).split('\n')[0];
const FIELDS = [
  'frame.number',
  'tcp.stream',
  'tcp.flags',
  'tcp.seq_raw',
  'tcp.ack_raw',
  'tcp.len',
  'ip.src',
  'ipv6.src',
  'tcp.srcport',
  'ip.dst',
  'ipv6.dst',
  'tcp.dstport',
  'tcp.analysis.retransmission',
];

function tshark(args) {
  return execFileSync('tshark', args, { encoding: 'utf8', maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'ignore'] });
}

for (const name of readdirSync(dir)
  .filter((f) => /\.(pcap|pcapng)$/.test(f))
  .sort()) {
  const path = join(dir, name);
  const frames = tshark(['-r', path, '-T', 'fields', '-e', 'frame.number']).trim().split('\n').filter(Boolean).length;
  const lines = tshark([
    '-r',
    path,
    '-Y',
    'tcp && !icmp && !icmpv6',
    '-T',
    'fields',
    '-E',
    'separator=/t',
    '-E',
    'occurrence=f',
    ...FIELDS.flatMap((f) => ['-e', f]),
  ])
    .split('\n')
    .filter(Boolean);
  const segments = [];
  const streams = new Map();
  for (const line of lines) {
    const c = line.split('\t');
    const flags = parseInt(c[2], 16);
    const src = c[6] || c[7];
    const dst = c[9] || c[10];
    const retx = c[12] === '1' ? 1 : 0;
    const seg = [Number(c[0]), Number(c[1]), flags, Number(c[3]), Number(c[4]), Number(c[5]), src, Number(c[8]), dst, Number(c[11]), retx];
    segments.push(seg);
    const id = seg[1];
    let s = streams.get(id);
    if (!s) {
      s = {
        stream: id,
        a: `${src}:${seg[7]}`,
        b: `${dst}:${seg[9]}`,
        packets: 0,
        syn: 0,
        synAck: 0,
        fin: 0,
        rst: 0,
        synRetransmissions: 0,
        retransmissions: 0,
        bytesAtoB: 0,
        bytesBtoA: 0,
      };
      streams.set(id, s);
    }
    s.packets++;
    const syn = (flags & 0x02) !== 0;
    const ack = (flags & 0x10) !== 0;
    if (syn && !ack) s.syn++;
    if (syn && ack) s.synAck++;
    if (flags & 0x01) s.fin++;
    if (flags & 0x04) s.rst++;
    if (retx) s.retransmissions++;
    if (retx && syn && !ack) s.synRetransmissions++;
    if (`${src}:${seg[7]}` === s.a) s.bytesAtoB += seg[5];
    else s.bytesBtoA += seg[5];
  }
  const expected = {
    file: name,
    generatedBy: `${version}; scripts/make-corpus-expectations.mjs`,
    frames,
    tcpSegments: segments.length,
    segmentColumns: ['frame', 'stream', 'flags', 'seq', 'ack', 'len', 'src', 'srcPort', 'dst', 'dstPort', 'retransmission'],
    streams: [...streams.values()].sort((x, y) => x.stream - y.stream),
    segments,
  };
  writeFileSync(join(outDir, `${name}.json`), JSON.stringify(expected, null, 0).replace(/\],\[/g, '],\n[') + '\n');
  console.log(`${name}: ${frames} frames, ${segments.length} TCP, ${streams.size} streams`);
}
