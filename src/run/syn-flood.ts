import type { DeployedLab } from './deployed-lab.js';

/*
 * The `flood` step: SYNs with forged source addresses, as in the seed's SYN attack, under the
 * project's network-safety rule: every forged source is an *unused address of the lab's own
 * /24* (never the gateway .1, never a lab host, never the network or broadcast address), so the
 * server's SYN-ACKs and ARP requests stay on the lab's internal network and reach nobody.
 * Random sources (hping3 --rand-source) are never used. Each source sends `countPerSource` SYNs
 * with one `hping3 -S -p PORT -a SRC -c N TARGET`; all of them start at once from ONE exec in the
 * attacking host (a fixed script, addresses as arguments), so the flood is a burst: one
 * `docker exec` per source spread 24 sources over 10 s on a slow runner, and the first half-open
 * requests expired before the last arrived.
 *
 * Neighbour entries: an unused address answers no ARP request, and Linux reacts to the failed
 * resolution of a SYN-ACK's next hop (after 3 probes, about 3 s) with an ICMP host-unreachable
 * to itself that drops the request at once (arp_error_report() → tcp_v4_err() → tcp_req_err()).
 * Real forged sources sit behind a router whose ARP entry is fine, so before the flood the
 * target gets a permanent neighbour entry for each forged source pointing to the *attacker's*
 * MAC address, as if those addresses lived behind it: the SYN-ACKs then leave the server and
 * are discarded by the attacker's kernel (not its address), and each request lives out its
 * SYN-ACK retries as in the seed.
 */

/**
 * Fixed script: $1 port, $2 target, $3 SYNs per source, then the sources. Starts one hping3 per
 * source in the background, then waits for each; hping3 exits 1 when nothing answered (the normal
 * case for a forged source), so only a status above 1 is a failure.
 */
export const FLOOD_SCRIPT =
  'port=$1 target=$2 count=$3; shift 3; pids=""; ' +
  'for source; do hping3 -q -S -p "$port" -a "$source" -c "$count" -i u10000 "$target" >/dev/null 2>&1 & pids="$pids $!"; done; ' +
  'failed=0; for pid in $pids; do wait "$pid"; [ "$?" -gt 1 ] && failed=$((failed + 1)); done; echo "failed=$failed"; [ "$failed" -eq 0 ]';
/** Fixed script, addresses as arguments: pins each forged source to the attacker's MAC on the target. */
const PIN_NEIGHBOURS_SCRIPT = 'mac=$1; shift; for address; do ip neigh replace "$address" lladdr "$mac" dev eth0 nud permanent || exit 1; done';

/**
 * Picks `count` forged source addresses from a /24 (`a.b.c.0/24`), from .254 downwards, skipping
 * .0, .1 (the gateway), .255 and every address in `used`. Pure; throws when there are not enough.
 */
export function pickSpoofSources(subnet: string, used: readonly string[], count: number): string[] {
  const match = /^(\d{1,3}\.\d{1,3}\.\d{1,3})\.0\/24$/.exec(subnet);
  if (!match) throw new Error(`flood: the lab network must be a /24 such as 198.18.7.0/24, received "${subnet}"; remedy: none (tcplab makes /24 networks)`);
  const prefix = match[1] as string;
  const taken = new Set(used);
  const sources: string[] = [];
  for (let last = 254; last >= 2 && sources.length < count; last--) {
    const address = `${prefix}.${last}`;
    if (!taken.has(address)) sources.push(address);
  }
  if (sources.length < count) {
    throw new Error(
      `flood: ${count} forged sources requested, but the lab's /24 ${subnet} has only ${sources.length} unused addresses; remedy: lower sources to ${sources.length} or less`,
    );
  }
  return sources;
}

/** Sends `countPerSource` SYNs to `to:port` from each of `sources` unused lab addresses; resolves with the sources used. */
export async function floodSyns(
  lab: DeployedLab,
  step: { readonly host: string; readonly to: string; readonly port: number; readonly sources: number; readonly countPerSource: number },
  signal: AbortSignal,
): Promise<string[]> {
  const used = [...lab.hosts.values()].map((h) => h.address);
  const sources = pickSpoofSources(lab.network.subnet, used, step.sources);
  const target = lab.addressOf(step.to);
  const attacker = lab.host(step.host).handle;
  const mac = await lab.runtime.exec(attacker, ['cat', '/sys/class/net/eth0/address']);
  const pin = await lab.runtime.exec(lab.host(step.to).handle, [
    'sh',
    '-c',
    PIN_NEIGHBOURS_SCRIPT,
    'pin-neighbours',
    mac.stdout.toString('utf8').trim(),
    ...sources,
  ]);
  if (mac.exitCode !== 0 || pin.exitCode !== 0) {
    throw new Error(
      `${step.to}: could not point the forged sources at ${step.host}'s MAC address: ${mac.stderr.trim()} ${pin.stderr.trim()}; remedy: check that the lab image has iproute2 (tcplab image build)`,
    );
  }
  if (signal.aborted) throw signal.reason;
  const result = await lab.runtime.exec(attacker, ['sh', '-c', FLOOD_SCRIPT, 'flood', String(step.port), target, String(step.countPerSource), ...sources]);
  if (result.exitCode !== 0) {
    throw new Error(
      `${step.host}: the flood failed (${result.stdout.toString('utf8').trim()} of ${sources.length} hping3 runs; ${result.stderr.trim()}); remedy: check that the lab image has hping3 (tcplab image build)`,
    );
  }
  return sources;
}
