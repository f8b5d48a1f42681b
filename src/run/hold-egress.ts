import type { DeployedHost, DeployedLab } from './deployed-lab.js';

/*
 * Holding a host's outgoing packets in a queue, and releasing them in order (the `hold` and
 * `release` steps), for experiments where two segments must be *in flight at the same time*:
 * crossing SYNs (simultaneous open) and crossing FINs (simultaneous close).
 *
 * Why not iptables: a DROP rule loses the segment, and TCP's retransmission comes back later,
 * after the peer may already have changed state; two retransmissions cross only when they leave
 * within one one-way delay of each other (tens of microseconds), which is luck. A queue keeps
 * the original segments, in order, until both sides have sent theirs.
 *
 * How (this kernel has no netem, plug or prio qdisc; tbf exists):
 *  1. Neighbour entries are made permanent both ways, for the IPv4 and (in labs that use IPv6) the
 *     IPv6 address: the holder's entries for every other lab host, so that no request of its own
 *     waits behind the queue (it would reorder the release), and every other host's entry for the
 *     holder, whose ARP replies would wait in the queue. Without the second half a peer that has not
 *     yet resolved the holder keeps its segments in the neighbour queue until the release: measured,
 *     a client's SYN to a held server left 1.6 s late, and its 1 s retransmission was skipped as the
 *     first copy was still queued in the host (tcp_retransmit_skb(), skb_still_in_host_queue()).
 *     The tbf holds every frame of eth0, of either family.
 *  2. A token-bucket filter with a rate of 8 bit/s becomes the root qdisc of eth0. A new tbf
 *     starts with a full bucket (tbf_change() in sch_tbf.c sets tokens = buffer), so one UDP
 *     datagram the size of the bucket (a 1514-byte frame, to the discard port of another lab host, sent
 *     with bash's /dev/udp)
 *     empties it. From then on every frame needs minutes of tokens: it waits in the queue.
 *  3. `release` changes the tbf to 10 Gbit/s with a large bucket (tokens = buffer again) and
 *     sends one small UDP datagram: its enqueue runs the qdisc, which sends everything queued,
 *     oldest first. (Changing the rate alone would leave the queue to the old watchdog timer.)
 * The UDP datagrams show in the captures as `UDP, length 1472` and `UDP, length 1`; the TCP
 * analysis ignores them. Everything stays between the lab's own hosts.
 */

const HOLD_RATE = '8bit';
/** One unfragmented full-size frame on a 1500-byte MTU link: 14 + 1500. */
const HOLD_BURST_BYTES = 1514;
/** UDP payload that makes an Ethernet frame of exactly HOLD_BURST_BYTES (14 + 20 + 8 + payload). */
const DRAIN_PAYLOAD_BYTES = HOLD_BURST_BYTES - 14 - 20 - 8;
const DISCARD_PORT = '9';

/** Starts queueing everything `host` sends on eth0; the queue is kept until `releaseEgress`. */
export async function holdEgress(lab: DeployedLab, host: string): Promise<void> {
  const peers = [...lab.hosts.values()].filter((h) => h.name !== host);
  const peer = peers[0];
  if (peer === undefined) throw new Error(`${host}: hold needs a second host in the lab (the queue is emptied by a datagram to it); add one under hosts`);
  const holder = lab.host(host);
  const holderMac = await macOf(lab, host);
  for (const other of peers) {
    const mac = await macOf(lab, other.name);
    await pinNeighbour(lab, host, other, mac);
    await pinNeighbour(lab, other.name, holder, holderMac);
  }
  await run(
    lab,
    host,
    ['tc', 'qdisc', 'replace', 'dev', 'eth0', 'root', 'tbf', 'rate', HOLD_RATE, 'burst', String(HOLD_BURST_BYTES), 'limit', '1000000'],
    'install the holding queue (tbf)',
  );
  await sendDatagram(lab, host, peer.address, DRAIN_PAYLOAD_BYTES, 'empty the token bucket');
}

/** Sends everything queued on `host` since `holdEgress`, in order, and stops holding. */
export async function releaseEgress(lab: DeployedLab, host: string): Promise<void> {
  const peer = [...lab.hosts.values()].find((h) => h.name !== host);
  if (peer === undefined) throw new Error(`${host}: release needs a second host in the lab`);
  await run(lab, host, ['tc', 'qdisc', 'change', 'dev', 'eth0', 'root', 'tbf', 'rate', '10gbit', 'burst', '1mb', 'limit', '1000000'], 'open the holding queue');
  await sendDatagram(lab, host, peer.address, 1, 'run the queue (one small datagram)');
}

async function macOf(lab: DeployedLab, host: string): Promise<string> {
  return (await run(lab, host, ['cat', '/sys/class/net/eth0/address'], 'read its MAC address')).trim();
}

/** Makes `on`'s neighbour entries for `neighbour` (IPv4, and IPv6 where it has an address: neighbour discovery queues like ARP) permanent. */
async function pinNeighbour(lab: DeployedLab, on: string, neighbour: DeployedHost, mac: string): Promise<void> {
  for (const address of [neighbour.address, ...(neighbour.address6 !== undefined ? [neighbour.address6] : [])]) {
    await run(lab, on, ['ip', 'neigh', 'replace', address, 'lladdr', mac, 'dev', 'eth0', 'nud', 'permanent'], `pin the neighbour entry of ${neighbour.name}`);
  }
}

/** One UDP datagram of `payloadBytes` zero bytes to the discard port of a lab host (bash's /dev/udp; no reply is awaited). */
async function sendDatagram(lab: DeployedLab, host: string, to: string, payloadBytes: number, what: string): Promise<void> {
  // The script is fixed; the size and the address (our own deployment's) are positional arguments.
  const argv = ['bash', '-c', 'head -c "$1" /dev/zero > "/dev/udp/$2/$3"', 'send-datagram', String(payloadBytes), to, DISCARD_PORT];
  await run(lab, host, argv, what);
}

async function run(lab: DeployedLab, host: string, argv: readonly string[], what: string): Promise<string> {
  const result = await lab.runtime.exec(lab.host(host).handle, argv);
  if (result.exitCode !== 0) {
    throw new Error(
      `${host}: could not ${what}: ${argv.join(' ')} exited with ${result.exitCode}: ${result.stderr.trim()}; remedy: check that the lab image has iproute2 and bash (tcplab image build)`,
    );
  }
  return result.stdout.toString('utf8');
}
