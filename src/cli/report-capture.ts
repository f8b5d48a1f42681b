import { writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { TcpSegment } from '../observe/packet.js';
import { buildCaptureLadder } from '../report/capture-ladder.js';
import { renderCaptureReportHtml, type CaptureLadder } from '../report/html-report.js';
import { renderMermaid } from '../report/mermaid-report.js';
import { renderCommentaryText } from '../report/run-commentary.js';
import { describeAnomalies } from '../verify/capture-anomalies.js';
import { ConnectionTracker, type TcpConnection } from '../verify/connections.js';
import { CliError, ExitCode } from './exit-codes.js';
import { readCapture, reportCaptureProblems } from './verify-capture.js';

/** Connections drawn when no `--conn` picks one (the rest are counted on the page). */
export const CAPTURE_REPORT_CONNECTIONS = 20;
/** Segments drawn per connection; a longer one says how many more it had. */
export const CAPTURE_REPORT_SEGMENTS = 1000;

export interface CaptureReportOptions {
  readonly format: 'html' | 'mermaid' | 'text';
  readonly lang: 'en' | 'zh';
  readonly conn?: number;
  readonly out?: string;
}

/**
 * `tcplab report <capture>`: the ladder and commentary of a capture's connections (every one up to
 * CAPTURE_REPORT_CONNECTIONS, or `--conn N` as `tcplab verify` numbers them). One pass over the file:
 * the tracker names each segment's connection, and only the drawn connections' segments are kept.
 * Returns the exit code (the capture's skipped frames and damage, as `tcplab verify`).
 */
export async function reportCapture(path: string, options: CaptureReportOptions): Promise<number> {
  const wanted = (id: number): boolean => (options.conn === undefined ? id < CAPTURE_REPORT_CONNECTIONS : id === options.conn);
  const segments = new Map<number, TcpSegment[]>();
  const omitted = new Map<number, number>();
  const connections: TcpConnection[] = [];
  let total = 0;
  let zeroUs: number | undefined;
  const tracker = new ConnectionTracker({
    onSegment: (segment, id) => {
      zeroUs ??= segment.timeUs;
      if (!wanted(id)) return;
      const list = segments.get(id) ?? [];
      if (list.length < CAPTURE_REPORT_SEGMENTS) list.push(segment);
      else omitted.set(id, (omitted.get(id) ?? 0) + 1);
      segments.set(id, list);
    },
    onConnection: (c) => {
      total++;
      if (wanted(c.id)) connections.push(c);
    },
  });
  const read = await readCapture(path, tracker, 'a run folder written by `tcplab run`, or a pcap/pcapng capture (optionally gzip or zstd compressed)');
  if (options.conn !== undefined && connections.length === 0) {
    const held = total === 0 ? 'it holds no TCP connection' : `its connections are #0–#${total - 1}`;
    throw new CliError(`--conn ${options.conn}: no such connection in ${path}; ${held} (\`tcplab verify ${path}\` lists them)`, ExitCode.usage);
  }
  if (options.format === 'mermaid' && connections.length > 1)
    throw new CliError(
      `${path} holds ${total} connections and a Mermaid diagram draws one: pick it with --conn N (\`tcplab verify ${path}\` lists them)`,
      ExitCode.usage,
    );
  const code = reportCaptureProblems(path, read, tracker.segmentCount);
  if (read.problem?.kind === 'corrupt') return code;
  const ladders: CaptureLadder[] = connections
    .sort((x, y) => x.id - y.id)
    .map((connection) =>
      buildCaptureLadder({
        file: basename(path),
        connection,
        segments: segments.get(connection.id) ?? [],
        omitted: omitted.get(connection.id) ?? 0,
        anomalies: describeAnomalies(connection),
        zeroUs: zeroUs ?? connection.firstTimeUs,
      }),
    );
  const notes = read.problem === undefined ? [] : [read.problem.message];
  switch (options.format) {
    case 'html': {
      const out = writeReport(
        options.out ?? defaultHtmlPath(path),
        renderCaptureReportHtml(basename(path), ladders, { lang: options.lang, totalConnections: total, notes }),
      );
      process.stdout.write(`${out}\n`);
      break;
    }
    case 'mermaid':
    case 'text': {
      const text = ladders
        .map(({ model, commentary }) =>
          options.format === 'mermaid' ? renderMermaid(model) : renderCommentaryText(commentary, options.lang, { title: model.lab.title }),
        )
        .join('\n');
      process.stdout.write(options.out === undefined ? text : `${writeReport(options.out, text)}\n`);
      break;
    }
  }
  return code;
}

/** Writes the report and returns its absolute path; a path that cannot be written is a usage error. */
function writeReport(path: string, text: string): string {
  const out = resolve(path);
  try {
    writeFileSync(out, text);
  } catch (err) {
    throw new CliError(
      `${out}: cannot write the report (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); give a writable file with --out`,
      ExitCode.usage,
    );
  }
  return out;
}

/** `x.pcap` → `x.report.html` beside it (compression and capture extensions dropped). */
export function defaultHtmlPath(path: string): string {
  const name = basename(path).replace(/(\.(pcapng|pcap|cap|dmp))?(\.(gz|zst))?$/i, '');
  return join(dirname(path), `${name === '' ? 'capture' : name}.report.html`);
}
