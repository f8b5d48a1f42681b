import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import type { AgentEvent } from '../agent/protocol.js';
import type { Lab } from '../lab/model.js';
import type { HostHandle, NetworkHandle, Runtime } from '../runtime/runtime.js';
import { AgentSession } from './agent-session.js';
import { KernelTracer } from './kernel-tracer.js';
import { PacketCapture } from './packet-capture.js';

/** Labels put on everything a run creates; `tcplab clean` removes by the first one. */
export const RUN_LABEL = 'tcplab.run';
export const LAB_LABEL = 'tcplab.lab';

/** Private /24s for labs come from 198.18.0.0/15 (RFC 2544: reserved for network testing). */
const SUBNET_POOL_SIZE = 512;

export interface DeployedHost {
  readonly name: string;
  readonly address: string;
  readonly handle: HostHandle;
  readonly agent: AgentSession;
  readonly capture: PacketCapture;
  readonly dir: string;
}

export interface DeployOptions {
  runId: string;
  image: string;
  runDir: string;
  onAgentEvent?: (host: string, event: AgentEvent) => void;
  onPcapChunk?: (host: string, chunk: Buffer) => void;
  log?: (line: string) => void;
}

/**
 * A lab whose network, containers, agents and captures exist. Only a deployed lab can run steps
 * or be torn down; disposing it (`await using`) removes everything it created, in reverse order,
 * logging teardown errors rather than hiding the error that caused the teardown.
 */
export class DeployedLab implements AsyncDisposable {
  private readonly teardown: { what: string; undo: () => Promise<unknown> }[] = [];
  readonly hosts = new Map<string, DeployedHost>();
  network!: NetworkHandle;
  /** The run's tracefs instance (or why there is none); made before the first container starts. */
  kernelTracer!: KernelTracer;
  private disposed = false;

  private constructor(
    readonly runtime: Runtime,
    readonly lab: Lab,
    readonly options: DeployOptions,
  ) {}

  /** Creates the network and one container per host, starts each host's agent and capture. */
  static async deploy(runtime: Runtime, lab: Lab, options: DeployOptions): Promise<DeployedLab> {
    const deployed = new DeployedLab(runtime, lab, options);
    try {
      await deployed.createNetwork();
      await deployed.startKernelTracer();
      await Promise.all(lab.hosts.map((host, i) => deployed.startHost(host.name, host.sysctls, i)));
      return deployed;
    } catch (err) {
      await deployed[Symbol.asyncDispose]();
      throw err;
    }
  }

  /** Address of a host by name. */
  addressOf(host: string): string {
    const found = this.hosts.get(host);
    if (!found) throw new Error(`no deployed host "${host}"`);
    return found.address;
  }

  host(name: string): DeployedHost {
    const found = this.hosts.get(name);
    if (!found) throw new Error(`no deployed host "${name}"`);
    return found;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    const log = this.options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
    for (const { what, undo } of this.teardown.reverse()) {
      try {
        await undo();
      } catch (err) {
        log(`teardown: could not ${what}: ${(err as Error).message} (run \`tcplab clean\` to sweep leftovers)`);
      }
    }
  }

  private labels(): Record<string, string> {
    return { [RUN_LABEL]: this.options.runId, [LAB_LABEL]: this.lab.name };
  }

  private async createNetwork(): Promise<void> {
    const used = new Set(await this.runtime.listSubnets());
    const start = Math.floor(Math.random() * SUBNET_POOL_SIZE);
    let lastError: unknown;
    for (let i = 0, tries = 0; i < SUBNET_POOL_SIZE && tries < 8; i++) {
      const n = (start + i) % SUBNET_POOL_SIZE;
      const subnet = `198.${18 + (n >> 8)}.${n & 255}.0/24`;
      if (used.has(subnet)) continue;
      tries++;
      try {
        this.network = await this.runtime.createNetwork({ name: `tcplab-${this.options.runId}`, subnet, labels: this.labels() });
        const network = this.network;
        this.teardown.push({ what: `remove network ${network.name}`, undo: () => this.runtime.removeNetwork(network) });
        return;
      } catch (err) {
        // Another run took the subnet between our look and our create: try the next one.
        lastError = err;
      }
    }
    throw new Error(`could not create a lab network in 198.18.0.0/15: ${(lastError as Error)?.message ?? 'every /24 is in use'}`);
  }

  private async startKernelTracer(): Promise<void> {
    const addresses = this.lab.hosts.map((_host, i) => hostAddress(this.network.subnet, i));
    const engine = await this.runtime.engineInfo().catch(() => undefined);
    this.kernelTracer = await KernelTracer.start(this.options.runId, addresses, engine?.kernel);
    const tracer = this.kernelTracer;
    this.teardown.push({ what: `remove the tracing instance ${tracer.instanceDir ?? ''}`, undo: async () => tracer.remove() });
  }

  private async startHost(name: string, sysctls: Readonly<Record<string, string>>, index: number): Promise<void> {
    const address = hostAddress(this.network.subnet, index);
    const handle = await this.runtime.startHost({
      name,
      containerName: `tcplab-${this.options.runId}-${name}`,
      image: this.options.image,
      network: this.network,
      address,
      // No IPv6 unless a lab asks for it: router solicitations and MLD reports would fill the captures.
      sysctls: { 'net.ipv6.conf.all.disable_ipv6': '1', 'net.ipv6.conf.default.disable_ipv6': '1', ...sysctls },
      labels: this.labels(),
    });
    this.teardown.push({ what: `remove container of ${name}`, undo: () => this.runtime.removeHost(handle) });
    const dir = join(this.options.runDir, name);
    mkdirSync(dir, { recursive: true });
    const agentProc = await this.runtime.spawn(handle, ['node', '/opt/tcplab/agent/agent.js']);
    const agent = new AgentSession(name, agentProc, (event) => this.options.onAgentEvent?.(name, event));
    this.teardown.push({ what: `stop the agent on ${name}`, undo: () => agent.stop() });
    await agent.ready(15_000);
    const capture = await PacketCapture.start(this.runtime, handle, join(dir, 'capture.pcap'), (chunk) =>
      this.options.onPcapChunk?.(name, chunk),
    );
    this.teardown.push({ what: `stop tcpdump on ${name}`, undo: () => capture.stop() });
    this.hosts.set(name, { name, address, handle, agent, capture, dir });
  }
}

/** The address of the lab's `index`-th host (declaration order) in its /24: .2, .3, … (.1 is the bridge). */
export function hostAddress(subnet: string, index: number): string {
  return `${subnet.split('.').slice(0, 3).join('.')}.${index + 2}`;
}
