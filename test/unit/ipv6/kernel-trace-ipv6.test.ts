// IPv6 in the kernel trace: the marker, the three state lines and the destroy line were recorded by
// tcplab's tracing instance on this project's machine (kernel 6.18) during a handshake-ipv6 run
// (fd00:7463:706c:a::/64); the other-run line, the tcp_send_reset line (%pISpc) and the IPv4-mapped
// line are written by hand in the print formats of /sys/kernel/tracing/events/*/format.
import { describe, expect, it } from 'vitest';
import { addressFilter, parseKernelTrace } from '../../../src/observe/kernel-trace.js';

const TRACE = `# tracer: nop
            node-32370   [001] ...1. 1796169283.229106: tracing_mark_write: tcplab-clock realtime_us=1796169283228941
            node-522     [000] ..... 1796169287.659054: inet_sock_set_state: family=AF_INET6 protocol=IPPROTO_TCP sport=0 dport=8888 saddr=0.0.0.0 daddr=0.0.0.0 saddrv6=fd00:7463:706c:a::3 daddrv6=fd00:7463:706c:a::2 oldstate=TCP_CLOSE newstate=TCP_SYN_SENT
            node-522     [000] .N... 1796169287.659284: inet_sock_set_state: family=AF_INET6 protocol=IPPROTO_TCP sport=48010 dport=8888 saddr=0.0.0.0 daddr=0.0.0.0 saddrv6=fd00:7463:706c:a::3 daddrv6=fd00:7463:706c:a::2 oldstate=TCP_SYN_SENT newstate=TCP_ESTABLISHED
            node-522     [000] .Ns2. 1796169287.659301: inet_sock_set_state: family=AF_INET6 protocol=IPPROTO_TCP sport=8888 dport=48010 saddr=127.0.0.6 daddr=127.0.0.6 saddrv6=fd00:7463:706c:a::2 daddrv6=fd00:7463:706c:a::3 oldstate=TCP_LISTEN newstate=TCP_SYN_RECV
            node-999     [001] ..... 1796169287.700000: inet_sock_set_state: family=AF_INET6 protocol=IPPROTO_TCP sport=5555 dport=80 saddr=0.0.0.0 daddr=0.0.0.0 saddrv6=fd00:7463:706c:b::3 daddrv6=fd00:7463:706c:b::2 oldstate=TCP_CLOSE newstate=TCP_SYN_SENT
     ksoftirqd/0-14      [000] ..s1. 1796169288.134248: tcp_destroy_sock: family=AF_INET6 sport=48010 dport=8888 saddr=0.0.0.0 daddr=0.0.0.0 saddrv6=fd00:7463:706c:a::3 daddrv6=fd00:7463:706c:a::2 sock_cookie=24c0
          <idle>-0       [000] ..s2. 1796169288.200000: tcp_send_reset: skbaddr=000000001 skaddr=0000000000000000 src=[fd00:7463:706c:a::2]:8888 dest=[fd00:7463:706c:a::3]:48011 state=TCP_CLOSE reason=NO_SOCKET
            node-522     [000] ..... 1796169288.300000: inet_sock_set_state: family=AF_INET6 protocol=IPPROTO_TCP sport=8888 dport=40000 saddr=0.0.0.0 daddr=0.0.0.0 saddrv6=::ffff:198.18.10.2 daddrv6=::ffff:198.18.10.3 oldstate=TCP_SYN_RECV newstate=TCP_ESTABLISHED
`;
const HOSTS = [
  { name: 'client', address: '198.18.10.3', address6: 'fd00:7463:706c:a::3' },
  { name: 'server', address: '198.18.10.2', address6: 'fd00:7463:706c:a::2' },
];

describe('kernel trace over IPv6', () => {
  it('reads AF_INET6 events from saddrv6/daddrv6 as bracketed endpoints and attributes them by IPv6 address', () => {
    const parsed = parseKernelTrace(TRACE, HOSTS, 'tai');
    expect(parsed.unparsed).toEqual([]);
    const client = parsed.eventsByHost.get('client') ?? [];
    expect(client.map((e) => [e.kind, e.local, e.remote, e.from, e.to])).toEqual([
      // SYN_SENT is set before the port is chosen (sport=0 in tcp_v6_connect() too): the next event's port is given to it
      ['state', '[fd00:7463:706c:a::3]:48010', '[fd00:7463:706c:a::2]:8888', 'CLOSED', 'SYN_SENT'],
      ['state', '[fd00:7463:706c:a::3]:48010', '[fd00:7463:706c:a::2]:8888', 'SYN_SENT', 'ESTABLISHED'],
      ['destroy', '[fd00:7463:706c:a::3]:48010', '[fd00:7463:706c:a::2]:8888', undefined, undefined],
    ]);
    const server = parsed.eventsByHost.get('server') ?? [];
    expect(server.map((e) => `${e.kind} ${e.local} ${e.remote}`)).toEqual([
      'state [fd00:7463:706c:a::2]:8888 [fd00:7463:706c:a::3]:48010',
      'send-reset [fd00:7463:706c:a::2]:8888 [fd00:7463:706c:a::3]:48011',
      // an IPv4 peer of a dual-stack listener is an IPv4 connection on the wire, and is told as one
      'state 198.18.10.2:8888 198.18.10.3:40000',
    ]);
    expect(parsed.foreign).toBe(1); // another run's /64 (fd00:7463:706c:b::)
  });

  it('without the hosts’ IPv6 addresses every AF_INET6 line is foreign (the attribution is by address, not by chance)', () => {
    const v4Only = HOSTS.map(({ name, address }) => ({ name, address }));
    const parsed = parseKernelTrace(TRACE, v4Only, 'tai');
    expect(parsed.eventsByHost.get('client')).toEqual([]);
    expect(parsed.eventsByHost.get('server')?.map((e) => e.local)).toEqual(['198.18.10.2:8888']);
    expect(parsed.foreign).toBe(6);
  });

  it('the event filter keeps every AF_INET6 event when the run has IPv6 addresses (a 16-byte field cannot be compared)', () => {
    expect(addressFilter(['198.18.25.2'])).toBe('saddr == 0x021912c6 || daddr == 0x021912c6');
    expect(addressFilter(['198.18.25.2', 'fd00:7463:706c:19::2'])).toBe('saddr == 0x021912c6 || daddr == 0x021912c6 || family == 10');
  });
});
