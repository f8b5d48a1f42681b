#!/usr/bin/env node
// Writes a synthetic pcap of complete TCP connections for the verify benchmark:
//   node bench/make-capture.mjs OUT.pcap [connections=10000] [packetsPerConnection=100] [concurrent=200]
// Each connection: SYN, SYN-ACK, ACK, then data segments and their ACKs, then FIN/ACK/FIN/ACK.
// `concurrent` connections are interleaved at any moment, as on a busy link.
import { openSync, writeSync, closeSync } from 'node:fs';
import { pcapFileHeader } from '../dist/observe/pcap-writer.js';

const [out, connArg = '10000', perArg = '101', concArg = '200'] = process.argv.slice(2);
if (!out) {
  console.error('usage: make-capture.mjs OUT.pcap [connections] [packetsPerConnection] [concurrent]');
  process.exit(2);
}
const connections = Number(connArg);
const perConnection = Math.max(8, Number(perArg));
const concurrent = Number(concArg);
const PAYLOAD = 100;

const fd = openSync(out, 'w');
writeSync(fd, pcapFileHeader()); // Ethernet

let buffer = Buffer.alloc(1 << 22);
let used = 0;
let timeUs = 1_700_000_000_000_000;
let packets = 0;

function emit(c, fromClient, flags, payload) {
  const caplen = 14 + 20 + 20 + payload;
  if (used + 16 + caplen > buffer.length) {
    writeSync(fd, buffer, 0, used);
    used = 0;
  }
  timeUs += 7;
  const b = buffer;
  let o = used;
  b.writeUInt32LE(Math.floor(timeUs / 1e6), o);
  b.writeUInt32LE(timeUs % 1e6, o + 4);
  b.writeUInt32LE(caplen, o + 8);
  b.writeUInt32LE(caplen, o + 12);
  o += 16;
  b.fill(0, o, o + 12);
  b.writeUInt16BE(0x0800, o + 12);
  o += 14;
  const [src, dst, sport, dport] = fromClient ? [c.client, c.server, c.cport, 80] : [c.server, c.client, 80, c.cport];
  b.writeUInt8(0x45, o);
  b.writeUInt8(0, o + 1);
  b.writeUInt16BE(20 + 20 + payload, o + 2);
  b.writeUInt16BE(packets & 0xffff, o + 4);
  b.writeUInt16BE(0x4000, o + 6);
  b.writeUInt8(64, o + 8);
  b.writeUInt8(6, o + 9);
  b.writeUInt16BE(0, o + 10);
  b.writeUInt32BE(src, o + 12);
  b.writeUInt32BE(dst, o + 16);
  o += 20;
  b.writeUInt16BE(sport, o);
  b.writeUInt16BE(dport, o + 2);
  b.writeUInt32BE(fromClient ? c.cseq : c.sseq, o + 4);
  b.writeUInt32BE(flags & 0x10 ? (fromClient ? c.sseq : c.cseq) : 0, o + 8);
  b.writeUInt8(0x50, o + 12);
  b.writeUInt8(flags, o + 13);
  b.writeUInt16BE(65535, o + 14);
  b.writeUInt32BE(0, o + 16);
  o += 20;
  b.fill(0x61, o, o + payload);
  used = o + payload;
  packets++;
}

// The script of one connection, as (fromClient, flags, payload, seq advance) steps.
function* script(c) {
  yield [true, 0x02, 0, () => (c.cseq = (c.cseq + 1) >>> 0)];
  yield [false, 0x12, 0, () => (c.sseq = (c.sseq + 1) >>> 0)];
  yield [true, 0x10, 0, null];
  const dataPairs = Math.floor((perConnection - 7) / 2);
  for (let i = 0; i < dataPairs; i++) {
    yield [true, 0x18, PAYLOAD, () => (c.cseq = (c.cseq + PAYLOAD) >>> 0)];
    yield [false, 0x10, 0, null];
  }
  yield [true, 0x11, 0, () => (c.cseq = (c.cseq + 1) >>> 0)];
  yield [false, 0x10, 0, null];
  yield [false, 0x11, 0, () => (c.sseq = (c.sseq + 1) >>> 0)];
  yield [true, 0x10, 0, null];
}

let next = 0;
const open = [];
const start = () => {
  const c = {
    client: (10 << 24) | ((next >> 8) << 8) | (next & 0xff) | 0x010000,
    server: (10 << 24) | 0xffff01,
    cport: 1024 + (next % 60000),
    cseq: (next * 2654435761) >>> 0,
    sseq: (next * 40503) >>> 0,
  };
  c.steps = script(c);
  next++;
  return c;
};
while (next < connections && open.length < concurrent) open.push(start());
while (open.length > 0) {
  for (let i = 0; i < open.length; i++) {
    const c = open[i];
    const step = c.steps.next();
    if (step.done) {
      // Replace the finished connection with a new one, or drop it when all have started.
      if (next < connections) open[i] = start();
      else open.splice(i--, 1);
      continue;
    }
    const [fromClient, flags, payload, advance] = step.value;
    emit(c, fromClient, flags, payload);
    advance?.();
  }
}
writeSync(fd, buffer, 0, used);
closeSync(fd);
console.log(`${out}: ${packets} packets in ${connections} connections`);
