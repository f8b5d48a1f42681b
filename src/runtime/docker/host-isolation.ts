import { execa } from 'execa';

/**
 * Keeps lab containers away from the machine that runs their engine.
 *
 * Docker's `internal: true` stops forwarding off the lab network, but the host itself still owns
 * the bridge's gateway address, and Linux (weak host model) accepts a packet for *any* local
 * address on any interface: a lab container could reach every host service listening on
 * 0.0.0.0, through the gateway or through another bridge's address (measured: a connect to the
 * docker0 gateway succeeded). The engine here (Docker 20.10) cannot create a bridge without a host
 * address (`com.docker.network.bridge.inhibit_ipv4` came later), so tcplab owns a filter chain on
 * the engine's host, jumped to first from INPUT, with one rule per lab bridge:
 *
 *     -A TCPLAB-INPUT -i br-<network id[:12]> -m comment --comment tcplab:<network name> -j DROP
 *
 * Container-to-container traffic is bridged and passes FORWARD, not INPUT, so the lab itself is
 * untouched; lab rules run inside the containers' own network namespaces and cannot reach this
 * chain. The rule is added before any container joins the network and removed with the network.
 *
 * Routing off the bridge is the second way out. For IPv4, `internal: true` makes Docker add its own
 * DOCKER-ISOLATION drops; for IPv6, Docker 20.10 manages no ip6tables rules at all (its `ip6tables`
 * daemon option is experimental and off) yet turns on net.ipv6.conf.all.forwarding when it makes an
 * IPv6 network (measured: forwarding = 1, ip6tables FORWARD policy ACCEPT), so a lab host's packet to
 * its gateway for another prefix would be routed on. tcplab therefore owns a second chain, jumped to
 * first from FORWARD, dropping what enters the bridge from elsewhere or leaves it for elsewhere
 * (bridged lab-to-lab frames, `-i br -o br`, match neither), for both families:
 *
 *     -A TCPLAB-FORWARD -i br-<id> ! -o br-<id> -m comment --comment tcplab:<network name> -j DROP
 *     -A TCPLAB-FORWARD ! -i br-<id> -o br-<id> -m comment --comment tcplab:<network name> -j DROP
 */
export const ISOLATION_CHAIN = 'TCPLAB-INPUT';
/** The chain of routed-traffic drops (see above). */
export const FORWARD_ISOLATION_CHAIN = 'TCPLAB-FORWARD';

/** Each chain tcplab owns, the built-in chain that jumps to it first, and its rules for one network. */
const ISOLATION_RULES: readonly { chain: string; from: 'INPUT' | 'FORWARD'; rules: (bridge: string) => string[][] }[] = [
  { chain: ISOLATION_CHAIN, from: 'INPUT', rules: (bridge) => [['-i', bridge]] },
  {
    chain: FORWARD_ISOLATION_CHAIN,
    from: 'FORWARD',
    rules: (bridge) => [
      ['-i', bridge, '!', '-o', bridge],
      ['!', '-i', bridge, '-o', bridge],
    ],
  },
];

/** Runs an iptables-family command on the engine's host: argv[0] is iptables or ip6tables. */
export type EngineHostCommand = (argv: readonly string[]) => Promise<{ exitCode: number; stdout: string; stderr: string }>;

/** Runs the command on this machine (the engine is local: its socket is a path here). */
export const runOnThisMachine: EngineHostCommand = async (argv) => {
  const [file, ...args] = argv as [string, ...string[]];
  const result = await execa(file, args, { reject: false, timeout: 30_000 });
  return { exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr };
};

/** The bridge device Docker's bridge driver makes for a user-defined network. */
export function bridgeOf(networkId: string): string {
  return `br-${networkId.slice(0, 12)}`;
}

/** Blocks every packet from the network's bridge to the engine's host, and every packet routed into or out of the bridge (IPv4 and IPv6). */
export async function isolateFromHost(run: EngineHostCommand, networkId: string, networkName: string): Promise<void> {
  for (const tool of await usableTools(run)) {
    for (const { chain, from, rules } of ISOLATION_RULES) {
      await ensureChain(run, tool, chain, from);
      for (const match of rules(bridgeOf(networkId))) {
        const added = await run([tool, '-w', '-A', chain, ...ruleOf(match, networkName)]);
        if (added.exitCode !== 0) {
          throw new Error(`could not isolate network ${networkName} from the host (${tool} ${chain}: ${added.stderr.trim()})`);
        }
      }
    }
  }
}

/** Removes the network's isolation rules (absent rules are fine). */
export async function releaseFromHost(run: EngineHostCommand, networkId: string, networkName: string): Promise<void> {
  for (const tool of ['iptables', 'ip6tables'] as const) {
    for (const { chain, rules } of ISOLATION_RULES) {
      for (const match of rules(bridgeOf(networkId))) {
        // -D removes one copy; repeat while copies remain (a retried create may have added two).
        for (let i = 0; i < 4; i++) {
          const removed = await run([tool, '-w', '-D', chain, ...ruleOf(match, networkName)]);
          if (removed.exitCode !== 0) break;
        }
      }
    }
  }
}

/** Names (`tcplab:<network name>`) of the networks that have an isolation rule on the host. */
export async function listIsolatedNetworks(run: EngineHostCommand): Promise<{ networkId12: string; networkName: string }[]> {
  const found = new Map<string, { networkId12: string; networkName: string }>();
  for (const tool of ['iptables', 'ip6tables'] as const) {
    for (const { chain } of ISOLATION_RULES) {
      const listed = await run([tool, '-w', '-S', chain]);
      if (listed.exitCode !== 0) continue;
      for (const line of listed.stdout.split('\n')) {
        const m = /-[io] br-([0-9a-f]{12}) .*--comment "?tcplab:([^\s"]+)"? -j DROP/.exec(line);
        if (m) found.set(m[1] as string, { networkId12: m[1] as string, networkName: m[2] as string });
      }
    }
  }
  return [...found.values()];
}

/** iptables always; ip6tables where the host has it working (no IPv6 stack: nothing to block). */
async function usableTools(run: EngineHostCommand): Promise<('iptables' | 'ip6tables')[]> {
  const v6 = await run(['ip6tables', '-w', '-S', 'INPUT']).catch(() => ({ exitCode: -1 }));
  return v6.exitCode === 0 ? ['iptables', 'ip6tables'] : ['iptables'];
}

function ruleOf(match: readonly string[], networkName: string): string[] {
  return [...match, '-m', 'comment', '--comment', `tcplab:${networkName}`, '-j', 'DROP'];
}

async function ensureChain(run: EngineHostCommand, tool: 'iptables' | 'ip6tables', chain: string, from: 'INPUT' | 'FORWARD'): Promise<void> {
  const exists = await run([tool, '-w', '-S', chain]);
  if (exists.exitCode !== 0) {
    const created = await run([tool, '-w', '-N', chain]);
    // Another run may have created it in between: that is fine.
    if (created.exitCode !== 0 && !/exists/i.test(created.stderr)) {
      throw new Error(`could not create the ${tool} chain ${chain} on the engine's host: ${created.stderr.trim()}`);
    }
  }
  const jumps = await run([tool, '-w', '-C', from, '-j', chain]);
  if (jumps.exitCode !== 0) {
    const inserted = await run([tool, '-w', '-I', from, '1', '-j', chain]);
    if (inserted.exitCode !== 0) throw new Error(`could not jump to ${chain} from ${from} (${tool}): ${inserted.stderr.trim()}`);
  }
}
