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
 */
export const ISOLATION_CHAIN = 'TCPLAB-INPUT';

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

/** Blocks every packet from the network's bridge to the engine's host (IPv4 and IPv6). */
export async function isolateFromHost(run: EngineHostCommand, networkId: string, networkName: string): Promise<void> {
  for (const tool of await usableTools(run)) {
    await ensureChain(run, tool);
    const added = await run([tool, '-w', '-A', ISOLATION_CHAIN, ...ruleOf(networkId, networkName)]);
    if (added.exitCode !== 0) {
      throw new Error(`could not isolate network ${networkName} from the host (${tool}: ${added.stderr.trim()})`);
    }
  }
}

/** Removes the network's isolation rules (absent rules are fine). */
export async function releaseFromHost(run: EngineHostCommand, networkId: string, networkName: string): Promise<void> {
  for (const tool of ['iptables', 'ip6tables'] as const) {
    // -D removes one copy; repeat while copies remain (a retried create may have added two).
    for (let i = 0; i < 4; i++) {
      const removed = await run([tool, '-w', '-D', ISOLATION_CHAIN, ...ruleOf(networkId, networkName)]);
      if (removed.exitCode !== 0) break;
    }
  }
}

/** Names (`tcplab:<network name>`) of the networks that have an isolation rule on the host. */
export async function listIsolatedNetworks(run: EngineHostCommand): Promise<{ networkId12: string; networkName: string }[]> {
  const found = new Map<string, { networkId12: string; networkName: string }>();
  for (const tool of ['iptables', 'ip6tables'] as const) {
    const listed = await run([tool, '-w', '-S', ISOLATION_CHAIN]);
    if (listed.exitCode !== 0) continue;
    for (const line of listed.stdout.split('\n')) {
      const m = /-i br-([0-9a-f]{12}) .*--comment "?tcplab:([^\s"]+)"? -j DROP/.exec(line);
      if (m) found.set(m[1] as string, { networkId12: m[1] as string, networkName: m[2] as string });
    }
  }
  return [...found.values()];
}

/** iptables always; ip6tables where the host has it working (no IPv6 stack: nothing to block). */
async function usableTools(run: EngineHostCommand): Promise<('iptables' | 'ip6tables')[]> {
  const v6 = await run(['ip6tables', '-w', '-S', 'INPUT']).catch(() => ({ exitCode: -1 }));
  return v6.exitCode === 0 ? ['iptables', 'ip6tables'] : ['iptables'];
}

function ruleOf(networkId: string, networkName: string): string[] {
  return ['-i', bridgeOf(networkId), '-m', 'comment', '--comment', `tcplab:${networkName}`, '-j', 'DROP'];
}

async function ensureChain(run: EngineHostCommand, tool: 'iptables' | 'ip6tables'): Promise<void> {
  const exists = await run([tool, '-w', '-S', ISOLATION_CHAIN]);
  if (exists.exitCode !== 0) {
    const created = await run([tool, '-w', '-N', ISOLATION_CHAIN]);
    // Another run may have created it in between: that is fine.
    if (created.exitCode !== 0 && !/exists/i.test(created.stderr)) {
      throw new Error(`could not create the ${tool} chain ${ISOLATION_CHAIN} on the engine's host: ${created.stderr.trim()}`);
    }
  }
  const jumps = await run([tool, '-w', '-C', 'INPUT', '-j', ISOLATION_CHAIN]);
  if (jumps.exitCode !== 0) {
    const inserted = await run([tool, '-w', '-I', 'INPUT', '1', '-j', ISOLATION_CHAIN]);
    if (inserted.exitCode !== 0) throw new Error(`could not jump to ${ISOLATION_CHAIN} from INPUT (${tool}): ${inserted.stderr.trim()}`);
  }
}
