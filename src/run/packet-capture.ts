import { createWriteStream, type WriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import { createInterface } from 'node:readline';
import type { HostHandle, HostProcess, Runtime } from '../runtime/runtime.js';
import { waitAtMost } from './bounded-wait.js';

/**
 * Bytes kept of each packet: the headers, never the payload. The largest a verdict reads is an ICMPv4 error
 * quoting a TCP header (14 + 60 + 8 + 60 + 8 with IP options) or an IPv4 segment with options (14 + 60 + 60);
 * a payload length comes from the IP header. Full packets (snaplen 262144) made a 16 MB transfer under load lose
 * 60–85% of its packets in tcpdump's ring (its counters: 252–435 of 347–493 dropped by kernel), ~32 KB per GRO
 * packet through the pipe to the run folder.
 */
export const CAPTURE_SNAPLEN = 256;

/**
 * tcpdump on one host's eth0, streaming pcap (`-U -w -`) to a file on the machine running
 * tcplab, so the capture survives the container and can be decoded live. AF_PACKET taps see
 * a packet before netfilter's INPUT chain, so segments a rule drops on arrival are captured.
 */
export class PacketCapture {
  private constructor(
    private readonly runtime: Runtime,
    private readonly host: HostHandle,
    private readonly proc: HostProcess,
    private readonly file: WriteStream,
    private readonly stderr: string[],
    private readonly stderrClosed: Promise<void>,
  ) {}

  /** Starts tcpdump and resolves once it reports that the capture is open (no sleeps). */
  static async start(runtime: Runtime, host: HostHandle, pcapPath: string, onChunk?: (chunk: Buffer) => void): Promise<PacketCapture> {
    // The host side of the bridge chatters (IPv6 DAD/MLD, IGMP) to multicast groups: not the lab's traffic.
    const filter = 'not (ip6 multicast or igmp)';
    const proc = await runtime.spawn(host, ['tcpdump', '-i', 'eth0', '-n', '-U', '--immediate-mode', '-s', String(CAPTURE_SNAPLEN), '-w', '-', filter]);
    const file = createWriteStream(pcapPath);
    proc.stdout.pipe(file);
    if (onChunk) proc.stdout.on('data', onChunk);
    const stderr: string[] = [];
    const lines = createInterface({ input: proc.stderr });
    const stderrClosed = new Promise<void>((resolve) => lines.once('close', resolve));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${host.name}: tcpdump did not start within 10 s: ${stderr.join(' ')}`)), 10_000);
      lines.on('line', (line) => {
        stderr.push(line);
        if (/listening on /.test(line)) {
          clearTimeout(timer);
          resolve();
        }
      });
      proc.exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`${host.name}: tcpdump exited with ${code}: ${stderr.join(' ')}`));
      }, reject);
    });
    return new PacketCapture(runtime, host, proc, file, stderr, stderrClosed);
  }

  /** The command that stops tcpdump: SIGINT, on which it flushes and prints its counters. */
  static readonly STOP_ARGV = ['pkill', '-INT', '-x', 'tcpdump'] as const;

  /**
   * Stops tcpdump and waits for the file and for its last words on stderr, which hold its counters
   * (parseCaptureCounters()). `signalled`: the caller already ran STOP_ARGV in the host (folded into
   * another command to save an exec); only the waiting is left. A second call (the teardown after the
   * collection) returns the first one's result without another exec.
   */
  stop(signalled = false): Promise<string> {
    return (this.stopped ??= this.stopOnce(signalled));
  }

  private stopped: Promise<string> | undefined;

  private async stopOnce(signalled: boolean): Promise<string> {
    if (!signalled) await this.runtime.exec(this.host, PacketCapture.STOP_ARGV);
    await waitAtMost(this.proc.exited, 5_000);
    await waitAtMost(this.stderrClosed, 1_000);
    // tcpdump flushed and exited; if it hung, end the file with what arrived.
    if (!this.file.writableFinished) this.file.end();
    await waitAtMost(finished(this.file), 5_000);
    return this.stderr.join('\n');
  }
}
