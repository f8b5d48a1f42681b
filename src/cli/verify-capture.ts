import { analyzeCapture, type TcpConnection } from '../verify/connections.js';
import { CaptureFormatError } from '../observe/capture-decoder.js';
import { describeAnomalies } from '../verify/capture-anomalies.js';
import { inferCapturePaths } from '../verify/replay.js';
import { CliError, ExitCode } from './exit-codes.js';

/** `tcplab verify <capture>`: every TCP connection of a pcap/pcapng file, with its anomalies. */
export async function verifyCaptureFile(path: string, flags: { json?: boolean }): Promise<number> {
  let connections: TcpConnection[];
  let segments: number;
  try {
    ({ connections, segments } = await analyzeCapture(path));
  } catch (err) {
    if (err instanceof CaptureFormatError) throw new CliError(`${path}: ${err.message}`, ExitCode.usage);
    throw err;
  }
  const entries = connections.map((c) => ({ ...summarize(c), paths: inferCapturePaths(c), anomalies: describeAnomalies(c) }));
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ capture: path, segments, connections: entries })}\n`);
  } else {
    process.stdout.write(`${path}: ${segments} TCP segments in ${connections.length} connections\n`);
    for (const e of entries) {
      const c = e.counts;
      process.stdout.write(`#${e.id} ${e.client} → ${e.server}  ${e.packets} pkts (SYN ${c.syn}, SYN-ACK ${c.synAck}, FIN ${c.fin}, RST ${c.rst}, data ${c.data})\n`);
      process.stdout.write(`    client ${e.client}: ${e.paths.client.join(' → ')}\n    server ${e.server}: ${e.paths.server.join(' → ')}\n`);
      for (const a of e.anomalies) process.stdout.write(`    ${a}\n`);
    }
  }
  return ExitCode.ok;
}

function summarize(c: TcpConnection) {
  return {
    id: c.id,
    client: c.a,
    server: c.b,
    midStream: c.midStream,
    packets: c.packets,
    counts: c.counts,
    bytes: { clientToServer: c.bytesAtoB, serverToClient: c.bytesBtoA },
    firstFrame: c.firstFrame,
    lastFrame: c.lastFrame,
  };
}
