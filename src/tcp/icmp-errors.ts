/*
 * What an ICMP error does to a TCP socket (net/ipv4/tcp_ipv4.c tcp_v4_err(), net/ipv6/tcp_ipv6.c
 * tcp_v6_err()). The errno comes from icmp_err_convert[] (net/ipv4/icmp.c) or icmpv6_err_convert()
 * (net/ipv6/icmp.c); source quench, fragmentation needed / packet too big (path MTU) and unknown types
 * set none. On a synchronized socket the error is soft (sk_err_soft; Node sets no IP_RECVERR): the
 * connection goes on, and when its timer gives up tcp_write_err() reports that soft error instead of
 * ETIMEDOUT. IPv4 net and host unreachable also undo one RTO doubling of the retransmitted segment
 * (tcp_ld_RTO_revert(), RFC 6069).
 */

const ICMP_ERRNO: readonly (string | undefined)[] = [
  'ENETUNREACH', // 0 net unreachable
  'EHOSTUNREACH', // 1 host unreachable
  'ENOPROTOOPT', // 2 protocol unreachable
  'ECONNREFUSED', // 3 port unreachable
  undefined, // 4 fragmentation needed: path MTU discovery, no error
  'EOPNOTSUPP', // 5 source route failed
  'ENETUNREACH', // 6 net unknown
  'EHOSTDOWN', // 7 host unknown
  'ENONET', // 8 host isolated
  'ENETUNREACH', // 9 net administratively prohibited
  'EHOSTUNREACH', // 10 host administratively prohibited
  'ENETUNREACH', // 11 net unreachable for TOS
  'EHOSTUNREACH', // 12 host unreachable for TOS
  'EHOSTUNREACH', // 13 communication administratively prohibited (what REJECT --reject-with icmp-admin-prohibited sends)
  'EHOSTUNREACH', // 14 host precedence violation
  'EHOSTUNREACH', // 15 precedence cut-off
];

/** ICMPv6 destination unreachable codes 0–6 (tab_unreach[]). */
const ICMPV6_UNREACH_ERRNO: readonly string[] = ['ENETUNREACH', 'EACCES', 'EHOSTUNREACH', 'EHOSTUNREACH', 'ECONNREFUSED', 'EACCES', 'EACCES'];

/** The errno a TCP socket takes from this ICMP message, or undefined when it takes none. */
export function icmpSocketError(family: 4 | 6, type: number, code: number): string | undefined {
  if (family === 4) {
    if (type === 3) return ICMP_ERRNO[code];
    if (type === 11) return 'EHOSTUNREACH'; // time exceeded
    if (type === 12) return 'EPROTO'; // parameter problem
    return undefined;
  }
  if (type === 1) return ICMPV6_UNREACH_ERRNO[code] ?? 'EPROTO'; // icmpv6_err_convert(): EPROTO beyond the table
  if (type === 3) return 'EHOSTUNREACH'; // time exceeded
  if (type === 4) return 'EPROTO'; // parameter problem
  return undefined;
}

/** Whether this ICMP message undoes one RTO doubling of the segment it quotes (tcp_ld_RTO_revert(): IPv4 net/host unreachable). */
export function icmpRevertsBackoff(family: 4 | 6, type: number, code: number): boolean {
  return family === 4 && type === 3 && (code === 0 || code === 1);
}

/**
 * Whether a request socket (TCP_NEW_SYN_RECV) is dropped by this error quoting its SYN-ACK: tcp_req_err()'s `abort`.
 * IPv4 (tcp_v4_err()): parameter problem, time exceeded, net and host unreachable — not port unreachable (measured:
 * test/fixtures/labs/teacher/synack-icmp-port-unreachable.yaml). IPv6 (tcp_v6_err()): icmpv6_err_convert()'s `fatal`:
 * parameter problem, and unreachable codes other than no route (0), beyond scope (2) and address unreachable (3).
 */
export function icmpDropsRequest(family: 4 | 6, type: number, code: number): boolean {
  if (family === 4) return type === 12 || type === 11 || (type === 3 && (code === 0 || code === 1));
  return type === 4 || (type === 1 && code !== 0 && code !== 2 && code !== 3);
}
