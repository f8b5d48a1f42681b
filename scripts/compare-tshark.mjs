#!/usr/bin/env node
// Compares `tcplab verify --json` with tshark on every capture of one or more folders and prints
// agreement figures: connections, packets and SYN/FIN/RST per direction, payload bytes per direction,
// retransmitted data segments (and their category: fast, spurious, plain).
//
//   node scripts/compare-tshark.mjs [--details] DIR|FILE …       (needs tshark and a built dist/)
//
// Matching: each tcplab connection is assigned to the tshark stream (tcp.stream) that holds its first
// frame. One tcplab connection per tshark stream is a match and is compared field by field; several
// tcplab connections in one tshark stream are a *split* (tcplab keeps apart copies seen on different
// VLANs or tunnels, which tshark merges); a tshark stream with none is *missing*. Retransmissions are
// compared as frame sets: tshark's tcp.analysis.retransmission on segments with payload that are not
// SYN or RST, against tcplab's data retransmissions. For tunnelled frames the first TCP header and
// the IP header just before it are used (frame.protocols tells which), not packets carried inside a
// TCP payload (OpenFlow packet-in/out). Exit 0 always: the figures are the result; --details lists every difference.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const details = args.includes('--details');
const targets = args.filter((a) => !a.startsWith('--'));
if (targets.length === 0) {
  console.error('usage: compare-tshark.mjs [--details] DIR|FILE …');
  process.exit(2);
}
const CAPTURE = /\.(pcap|pcapng|cap)(\.gz|\.zst)?$/;
const files = targets.flatMap((t) =>
  statSync(t).isDirectory()
    ? readdirSync(t)
        .filter((f) => CAPTURE.test(f))
        .sort()
        .map((f) => join(t, f))
    : [t],
);

const FIELDS = [
  'frame.number',
  'tcp.stream',
  'ip.src',
  'ipv6.src',
  'tcp.srcport',
  'ip.dst',
  'ipv6.dst',
  'tcp.dstport',
  'tcp.flags',
  'tcp.len',
  'tcp.analysis.retransmission',
  'tcp.analysis.fast_retransmission',
  'tcp.analysis.spurious_retransmission',
  'frame.protocols',
];

const endpoint = (ip, port) => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);

/** tshark's streams of one capture: per direction packets, SYN/FIN/RST, bytes, and its retransmitted data frames. */
function tsharkStreams(file) {
  const args = ['-r', file, '-Y', 'tcp && !icmp && !icmpv6', '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=,'];
  const r = spawnSync('tshark', [...args, ...FIELDS.flatMap((f) => ['-e', f])], {
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  if (r.status !== 0 && r.stdout === '') return { error: (r.stderr || '').trim().split('\n').pop() };
  const streams = new Map();
  const frameStream = new Map();
  for (const line of r.stdout.split('\n')) {
    if (line === '') continue;
    const c = line.split('\t').map((v, i) => (i === 13 ? v : v.split(',')[0]));
    const all = line.split('\t');
    // The IP header right before the first TCP header: the innermost tunnel layer, not an IP packet inside a TCP payload.
    const layers = all[13].split(':');
    const before = layers.slice(0, layers.indexOf('tcp'));
    const v4 = before.filter((p) => p === 'ip').length;
    const v6 = before.filter((p) => p === 'ipv6').length;
    const lastIsV6 = before.lastIndexOf('ipv6') > before.lastIndexOf('ip');
    const pick = (i4, i6) => (lastIsV6 ? all[i6].split(',')[v6 - 1] : all[i4].split(',')[v4 - 1]);
    const frame = Number(c[0]);
    const id = Number(c[1]);
    const src = endpoint(pick(2, 3), c[4]);
    const dst = endpoint(pick(5, 6), c[7]);
    const flags = parseInt(c[8], 16);
    const len = Number(c[9]);
    frameStream.set(frame, id);
    let s = streams.get(id);
    if (!s) {
      s = { id, firstFrame: frame, ends: [src, dst], dir: new Map(), retx: new Map() };
      streams.set(id, s);
    }
    let d = s.dir.get(src);
    if (!d) s.dir.set(src, (d = { packets: 0, syn: 0, fin: 0, rst: 0, bytes: 0 }));
    d.packets++;
    if (flags & 0x02) d.syn++;
    if (flags & 0x01) d.fin++;
    if (flags & 0x04) d.rst++;
    d.bytes += len;
    if (c[10] === '1' && len > 0 && !(flags & 0x06)) {
      s.retx.set(frame, c[11] === '1' ? 'fast retransmission' : c[12] === '1' ? 'spurious retransmission' : 'retransmission');
    }
  }
  return { streams, frameStream };
}

function tcplabConnections(file) {
  const r = spawnSync('node', [join(ROOT, 'bin/tcplab.js'), 'verify', file, '--json'], { encoding: 'utf8', maxBuffer: 1 << 30 });
  try {
    return { json: JSON.parse(r.stdout), exitCode: r.status };
  } catch {
    return { error: `exit ${r.status}: ${(r.stderr || '').trim().split('\n').pop()}` };
  }
}

const total = {
  captures: 0,
  streams: 0,
  tcplabConnections: 0,
  matched: 0,
  split: 0,
  splitInto: 0,
  missing: 0,
  packets: 0,
  flags: 0,
  bytes: 0,
  retxTshark: 0,
  retxTcplab: 0,
  retxBoth: 0,
  retxSameKind: 0,
};
const lines = [];
for (const file of files) {
  const t = tsharkStreams(file);
  const l = tcplabConnections(file);
  if (t.error || l.error) {
    lines.push(`${file}: ${t.error ? `tshark: ${t.error}` : ''} ${l.error ? `tcplab: ${l.error}` : ''}`);
    continue;
  }
  total.captures++;
  const perStream = new Map();
  for (const c of l.json.connections) {
    const id = t.frameStream.get(c.firstFrame);
    if (id === undefined) continue;
    if (!perStream.has(id)) perStream.set(id, []);
    perStream.get(id).push(c);
  }
  const notes = [];
  const f = { streams: t.streams.size, conns: l.json.connections.length, matched: 0, packets: 0, flags: 0, bytes: 0, rt: 0, rl: 0, both: 0, kind: 0 };
  for (const s of t.streams.values()) {
    const mine = perStream.get(s.id) ?? [];
    f.rt += s.retx.size;
    if (mine.length === 0) {
      total.missing++;
      notes.push(`stream ${s.id} (${s.ends.join(' ↔ ')}, frame ${s.firstFrame}): no tcplab connection`);
      continue;
    }
    if (mine.length > 1) {
      total.split++;
      total.splitInto += mine.length;
      notes.push(`stream ${s.id}: ${mine.length} tcplab connections (${mine.map((c) => c.via ?? 'no via').join(' | ')})`);
    } else {
      f.matched++;
      const c = mine[0];
      const dirs = [
        [c.client, c.byDirection.clientToServer],
        [c.server, c.byDirection.serverToClient],
      ];
      const tdir = (ep) => s.dir.get(ep) ?? { packets: 0, syn: 0, fin: 0, rst: 0, bytes: 0 };
      const samePackets = dirs.every(([ep, d]) => d.packets === tdir(ep).packets);
      const sameFlags = dirs.every(([ep, d]) => d.syn === tdir(ep).syn && d.fin === tdir(ep).fin && d.rst === tdir(ep).rst);
      const sameBytes = dirs.every(([ep, d]) => d.bytes === tdir(ep).bytes);
      if (samePackets) f.packets++;
      else notes.push(`stream ${s.id}: packets ${dirs.map(([ep, d]) => `${ep} tcplab ${d.packets} tshark ${tdir(ep).packets}`).join('; ')}`);
      if (sameFlags) f.flags++;
      else {
        const both = dirs.map(([ep, d]) => `${ep} tcplab ${d.syn}/${d.fin}/${d.rst} tshark ${tdir(ep).syn}/${tdir(ep).fin}/${tdir(ep).rst}`);
        notes.push(`stream ${s.id}: SYN/FIN/RST ${both.join('; ')}`);
      }
      if (sameBytes) f.bytes++;
      else notes.push(`stream ${s.id}: bytes ${dirs.map(([ep, d]) => `${ep} tcplab ${d.bytes} tshark ${tdir(ep).bytes}`).join('; ')}`);
    }
    const ours = new Map(mine.flatMap((c) => c.retransmissions.segments.map((r) => [r.frame, r.kind])));
    f.rl += ours.size;
    for (const [frame, kind] of s.retx) {
      if (!ours.has(frame)) notes.push(`stream ${s.id}: frame ${frame} is a ${kind} for tshark only`);
      else {
        f.both++;
        if (ours.get(frame) === kind) f.kind++;
        else notes.push(`stream ${s.id}: frame ${frame}: tshark ${kind}, tcplab ${ours.get(frame)}`);
      }
    }
    for (const [frame, kind] of ours) if (!s.retx.has(frame)) notes.push(`stream ${s.id}: frame ${frame} is a ${kind} for tcplab only`);
  }
  for (const c of l.json.connections) {
    if (t.frameStream.get(c.firstFrame) === undefined) notes.push(`tcplab connection #${c.id} (frame ${c.firstFrame}) is in no tshark stream`);
  }
  total.streams += f.streams;
  total.tcplabConnections += f.conns;
  total.matched += f.matched;
  total.packets += f.packets;
  total.flags += f.flags;
  total.bytes += f.bytes;
  total.retxTshark += f.rt;
  total.retxTcplab += f.rl;
  total.retxBoth += f.both;
  total.retxSameKind += f.kind;
  const skipped = (l.json.skipped ?? []).map((s) => `${s.frames} skipped: ${s.reason}`).join('; ');
  const summary =
    `${file.split('/').pop()}: streams ${f.streams}, tcplab ${f.conns}, matched ${f.matched}; ` +
    `packets ${f.packets}, flags ${f.flags}, bytes ${f.bytes}; retx tshark ${f.rt} tcplab ${f.rl} both ${f.both}${skipped ? `; ${skipped}` : ''}`;
  if (notes.length > 0 || details) lines.push(summary, ...(details ? notes.map((n) => `    ${n}`) : []));
}
for (const line of lines) console.log(line);
const pct = (n, d) => (d === 0 ? '—' : `${((100 * n) / d).toFixed(1)}%`);
console.log('');
console.log(`captures compared:            ${total.captures} of ${files.length}`);
console.log(`connections:                  tshark ${total.streams}, tcplab ${total.tcplabConnections}`);
console.log(`  matched one to one:         ${total.matched} (${pct(total.matched, total.streams)} of tshark's)`);
console.log(`  split by VLAN/tunnel:       ${total.split} tshark streams → ${total.splitInto} tcplab connections`);
console.log(`  missing in tcplab:          ${total.missing}`);
console.log(`packets per direction agree:  ${total.packets} of ${total.matched} matched (${pct(total.packets, total.matched)})`);
console.log(`SYN/FIN/RST per direction:    ${total.flags} of ${total.matched} (${pct(total.flags, total.matched)})`);
console.log(`bytes per direction agree:    ${total.bytes} of ${total.matched} (${pct(total.bytes, total.matched)})`);
console.log(
  `data retransmissions:         tshark ${total.retxTshark}, tcplab ${total.retxTcplab}, both ${total.retxBoth}; ` +
    `same category ${total.retxSameKind} of ${total.retxBoth}`,
);
