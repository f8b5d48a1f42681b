import { readCaptureFile, type CaptureRead } from '../observe/capture-decoder.js';
import { skippedList } from '../observe/frame-decoder.js';
import { describeAnomalies } from '../verify/capture-anomalies.js';
import { ConnectionTracker, type TcpConnection } from '../verify/connections.js';
import type { StateTransition } from '../analysis/capture-states.js';
import { CliError, ExitCode } from './exit-codes.js';

/**
 * `tcplab verify <capture>`: every TCP connection of a pcap/pcapng file, its endpoints' state paths
 * and its anomalies. Streams: each connection is printed when the tracker finalises it (closed and
 * past its linger time, or at the end), so memory is bounded by the connections alive at once, not
 * by the file's size. Connections therefore appear in the order they ended; `id` gives the order
 * in which they started.
 */
export async function verifyCaptureFile(path: string, flags: { json?: boolean }): Promise<number> {
  const out = new BufferedWriter();
  let count = 0;
  const tracker = new ConnectionTracker({
    onConnection: (c) => {
      const entry = describeConnection(c);
      if (flags.json) out.write(`${count === 0 ? '' : ','}${JSON.stringify(entry)}`);
      else out.write(renderConnection(entry));
      count++;
    },
  });
  if (flags.json) out.write(`{"capture":${JSON.stringify(path)},"connections":[`);
  const read = await readCapture(path, tracker);
  const { stats, compression, problem } = read;
  const skipped = skippedList(stats);
  const warnings = problem === undefined ? [] : [{ kind: problem.kind, offset: problem.offset, message: problem.message }];
  if (flags.json) {
    out.write(
      `],"segments":${tracker.segmentCount},"frames":${stats.frames},"notTcp":${stats.skippedNonTcp},"skipped":${JSON.stringify(skipped)}` +
        `${compression !== undefined ? `,"compression":"${compression}"` : ''},"warnings":${JSON.stringify(warnings)}}\n`,
    );
  } else {
    out.write(`${path}: ${tracker.segmentCount} TCP segments in ${count} connections (${stats.frames} frames, ${stats.skippedNonTcp} not TCP)\n`);
  }
  await out.flush();
  return reportCaptureProblems(path, read, tracker.segmentCount);
}

/**
 * Reads a capture into `tracker` and finishes it. A file of which not one frame could be read is a usage
 * error (saying what to give instead: `expected`); a cut-off or corrupt one keeps every complete packet before the damage (its `problem`).
 */
export async function readCapture(
  path: string,
  tracker: ConnectionTracker,
  expected = 'a pcap/pcapng capture (optionally gzip or zstd compressed)',
): Promise<CaptureRead> {
  const read = await readCaptureFile(path, (segment) => tracker.push(segment));
  if (read.problem !== undefined && read.stats.frames === 0) {
    throw new CliError(`${path}: ${read.problem.message}; nothing could be read: give ${expected}`, ExitCode.usage);
  }
  tracker.finish();
  return read;
}

/** Tells on stderr what was skipped and what damage ended the read; returns the exit code they make. */
export function reportCaptureProblems(path: string, { stats, problem }: CaptureRead, segmentCount: number): number {
  const skipped = skippedList(stats);
  for (const s of skipped) process.stderr.write(`${path}: skipped ${s.frames} frame${s.frames === 1 ? '' : 's'}: ${s.reason}\n`);
  if (problem !== undefined) {
    process.stderr.write(`${path}: warning: ${problem.message}\n`);
    // A cut-off file is normal for a capture stopped abruptly: its complete packets are the result. A corrupt one is bad input.
    if (problem.kind === 'corrupt') return ExitCode.usage;
  }
  if (segmentCount === 0 && skipped.length > 0) {
    process.stderr.write(`${path}: no TCP segment could be decoded; the frames above were skipped (exit ${ExitCode.nothingDecoded})\n`);
    return ExitCode.nothingDecoded;
  }
  return ExitCode.ok;
}

type ConnectionEntry = ReturnType<typeof describeConnection>;

function describeConnection(c: TcpConnection) {
  return {
    id: c.id,
    ...(c.via !== undefined ? { via: c.via } : {}),
    client: c.a,
    server: c.b,
    midStream: c.midStream,
    packets: c.packets,
    counts: c.counts,
    bytes: { clientToServer: c.bytesAtoB, serverToClient: c.bytesBtoA },
    byDirection: {
      clientToServer: { packets: c.packetsAtoB, bytes: c.bytesAtoB, ...c.flagsAtoB },
      serverToClient: { packets: c.packetsBtoA, bytes: c.bytesBtoA, ...c.flagsBtoA },
    },
    retransmissions: describeRetransmissions(c),
    firstFrame: c.firstFrame,
    lastFrame: c.lastFrame,
    paths: { client: c.states.client.path, server: c.states.server.path },
    transitions: {
      client: c.states.client.transitions.map(describeTransition),
      server: c.states.server.transitions.map(describeTransition),
    },
    anomalies: describeAnomalies(c),
  };
}

function describeTransition(t: StateTransition) {
  return { from: t.from, event: t.event, to: t.to, frame: t.frame, ...(t.inferred ? { inferred: true } : {}) };
}

function describeRetransmissions(c: TcpConnection) {
  const r = c.dataRetransmissions;
  return {
    data: r.count,
    fast: r.fast,
    spurious: r.spurious,
    outOfOrder: r.outOfOrder,
    keepalives: r.keepalives,
    zeroWindowProbes: r.zeroWindowProbes,
    captureDuplicates: r.captureDuplicates,
    syn: c.synRetransmissions.count,
    synAck: c.synAckRetransmissions.count,
    fin: c.finRetransmissions,
    segments: r.segments.map((s) => ({ frame: s.frame, from: s.from === 'a' ? 'client' : 'server', kind: s.kind, seq: s.seq, length: s.length })),
  };
}

function renderConnection(e: ConnectionEntry): string {
  const c = e.counts;
  const lines = [
    `#${e.id} ${e.client} → ${e.server}${e.via !== undefined ? ` via ${e.via}` : ''}  ` +
      `${e.packets} pkts (SYN ${c.syn}, SYN-ACK ${c.synAck}, FIN ${c.fin}, RST ${c.rst}, data ${c.data})`,
    `    client ${e.client}: ${e.paths.client.join(' → ')}`,
    `    server ${e.server}: ${e.paths.server.join(' → ')}`,
    ...e.anomalies.map((a) => `    ${a}`),
  ];
  return `${lines.join('\n')}\n`;
}

/** Collects small writes into 64 KiB chunks for stdout (one write per connection would be slow). */
class BufferedWriter {
  private parts: string[] = [];
  private size = 0;

  write(text: string): void {
    this.parts.push(text);
    this.size += text.length;
    if (this.size >= 65_536) void this.flush();
  }

  async flush(): Promise<void> {
    if (this.parts.length === 0) return;
    const chunk = this.parts.join('');
    this.parts = [];
    this.size = 0;
    if (!process.stdout.write(chunk)) await new Promise((resolve) => process.stdout.once('drain', resolve));
  }
}
