import { createWriteStream, type WriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import { createInterface } from 'node:readline';
import type { HostHandle, HostProcess, Runtime } from '../runtime/runtime.js';
import { waitAtMost } from './bounded-wait.js';

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
  ) {}

  /** Starts tcpdump and resolves once it reports that the capture is open (no sleeps). */
  static async start(runtime: Runtime, host: HostHandle, pcapPath: string, onChunk?: (chunk: Buffer) => void): Promise<PacketCapture> {
    // The host side of the bridge chatters (IPv6 DAD/MLD, IGMP) to multicast groups: not the lab's traffic.
    const filter = 'not (ip6 multicast or igmp)';
    const proc = await runtime.spawn(host, ['tcpdump', '-i', 'eth0', '-n', '-U', '--immediate-mode', '-s', '262144', '-w', '-', filter]);
    const file = createWriteStream(pcapPath);
    proc.stdout.pipe(file);
    if (onChunk) proc.stdout.on('data', onChunk);
    const stderr: string[] = [];
    const lines = createInterface({ input: proc.stderr });
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
    return new PacketCapture(runtime, host, proc, file, stderr);
  }

  /** The command that stops tcpdump: SIGINT, on which it flushes and prints its counters. */
  static readonly STOP_ARGV = ['pkill', '-INT', '-x', 'tcpdump'] as const;

  /**
   * Stops tcpdump and waits for the file. `signalled`: the caller already ran STOP_ARGV in the
   * host (folded into another command to save an exec); only the waiting is left.
   */
  async stop(signalled = false): Promise<string> {
    if (!signalled) await this.runtime.exec(this.host, PacketCapture.STOP_ARGV);
    await waitAtMost(this.proc.exited, 5_000);
    // tcpdump flushed and exited; if it hung, end the file with what arrived.
    if (!this.file.writableFinished) this.file.end();
    await waitAtMost(finished(this.file), 5_000);
    return this.stderr.join('\n');
  }
}
