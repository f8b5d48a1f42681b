/**
 * tcpdump's own counters, which it prints on stderr as it exits (tcpdump.c info(), from libpcap's pcap_stats()):
 * `N packets captured`, `N packets received by filter` (ps_recv), `N packets dropped by kernel` (ps_drop: the
 * AF_PACKET ring was full, tp_drops), and `N packets dropped by interface` (ps_ifdrop) when not zero. A packet
 * dropped by the kernel is missing from the capture file although it crossed the interface.
 */
export interface CaptureCounters {
  readonly captured: number;
  readonly receivedByFilter: number;
  readonly droppedByKernel: number;
  readonly droppedByInterface: number;
}

/** The file of a host's run folder that holds its capture's counters. */
export const CAPTURE_COUNTERS_FILE = 'capture-counters.json';

/** The counters in tcpdump's stderr, or undefined when it printed none (it was killed, or never started). */
export function parseCaptureCounters(stderr: string): CaptureCounters | undefined {
  const count = (what: string): number | undefined => {
    const match = new RegExp(`^(\\d+) packets? ${what}$`, 'm').exec(stderr);
    return match === null ? undefined : Number(match[1]);
  };
  const captured = count('captured');
  const receivedByFilter = count('received by filter');
  const droppedByKernel = count('dropped by kernel');
  if (captured === undefined || receivedByFilter === undefined || droppedByKernel === undefined) return undefined;
  return { captured, receivedByFilter, droppedByKernel, droppedByInterface: count('dropped by interface') ?? 0 };
}
