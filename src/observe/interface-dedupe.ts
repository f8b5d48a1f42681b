/**
 * Removes copies of one packet seen on several interfaces (`tcpdump -i any` on a host with a veth,
 * a bridge and eth0 records each packet up to three times).
 *
 * Model: a segment is a copy when an identical one (IPv4 id, addresses, ports, seq, ack, flags,
 * payload length) was kept within `windowUs` before it on a *different* interface. Identical
 * segments on the *same* interface are kept: they are real retransmissions or duplicates on that
 * wire (tshark counts them too, e.g. tcpdump__pptp's duplicated frames). Segments without an
 * interface id are never dropped. State is bounded by the packets of the last `windowUs`.
 */
import type { TcpSegment } from './packet.js';

export interface InterfaceDedupeOptions {
  /** How far apart two copies may be, in microseconds (default 1000 = 1 ms). */
  windowUs?: number;
}

/** Returns a stateful predicate: true = keep the segment, false = it is a copy from another interface. */
export function dedupeAcrossInterfaces(options: InterfaceDedupeOptions = {}): (segment: TcpSegment) => boolean {
  const windowUs = options.windowUs ?? 1000;
  const recent = new Map<string, { timeUs: number; interfaceId: number }>();
  let lastPruneUs = -Infinity;
  return (seg) => {
    if (seg.interfaceId === undefined) return true;
    if (seg.timeUs - lastPruneUs > windowUs * 16) {
      for (const [k, v] of recent) if (seg.timeUs - v.timeUs > windowUs) recent.delete(k);
      lastPruneUs = seg.timeUs;
    }
    const key = `${seg.ipId ?? ''}|${seg.src}|${seg.srcPort}|${seg.dst}|${seg.dstPort}|${seg.seq}|${seg.ack}|${seg.flags}|${seg.payloadLength}`;
    const seen = recent.get(key);
    if (seen !== undefined && seen.interfaceId !== seg.interfaceId && Math.abs(seg.timeUs - seen.timeUs) <= windowUs) {
      return false;
    }
    recent.set(key, { timeUs: seg.timeUs, interfaceId: seg.interfaceId });
    return true;
  };
}
