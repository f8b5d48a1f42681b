import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import type { AgentEvent } from '../agent/protocol.js';
import { labUsesIpv6, type IpFamily, type Lab } from '../lab/model.js';
import { message, type Lang, type MessageKey } from '../messages/catalog.js';
import type { HostHandle, NetworkHandle, Runtime } from '../runtime/runtime.js';
import { AgentSession } from './agent-session.js';
import { KernelTracer } from './kernel-tracer.js';
import { PacketCapture } from './packet-capture.js';
import { processTreeTasks } from './process-tree.js';
import { currentOwner, ownerLabels } from './run-owner.js';
import { freeLabSubnets, hostAddress, hostAddress6, SUBNET_POOL_SIZE } from './lab-subnets.js';

/** Labels put on everything a run creates; `tcplab clean` removes by the first one. */
export const RUN_LABEL = 'tcplab.run';
export const LAB_LABEL = 'tcplab.lab';

/** This process, as the owner labels of everything it creates. */
const OWNER = currentOwner();

/**
 * IPv6 sysctls of a container of a lab that uses IPv6: the stack on, and nothing of its own on the wire
 * that the lab did not ask for (no router solicitations, no router advertisements accepted; Docker
 * already turns duplicate address detection off for the fixed addresses, `nodad`).
 */
const IPV6_ON_SYSCTLS: Readonly<Record<string, string>> = {
  'net.ipv6.conf.all.disable_ipv6': '0',
  'net.ipv6.conf.default.disable_ipv6': '0',
  'net.ipv6.conf.all.router_solicitations': '0',
  'net.ipv6.conf.default.router_solicitations': '0',
  'net.ipv6.conf.all.accept_ra': '0',
  'net.ipv6.conf.default.accept_ra': '0',
};

/** No IPv6 in labs that do not use it: router solicitations and MLD reports would fill the captures. */
const IPV6_OFF_SYSCTLS: Readonly<Record<string, string>> = { 'net.ipv6.conf.all.disable_ipv6': '1', 'net.ipv6.conf.default.disable_ipv6': '1' };

export interface DeployedHost {
  readonly name: string;
  readonly address: string;
  /** The host's IPv6 address, in labs that use IPv6 (see labUsesIpv6). */
  readonly address6?: string;
  readonly handle: HostHandle;
  readonly agent: AgentSession;
  readonly capture: PacketCapture;
  readonly dir: string;
  /** The tasks of the agent's process tree (it and its socket worker) in the kernel's pid namespace, when the engine told its pid: their connect(2) calls are traced. */
  readonly agentTasks?: readonly number[];
}

export interface DeployOptions {
  runId: string;
  image: string;
  runDir: string;
  onAgentEvent?: (host: string, event: AgentEvent) => void;
  onPcapChunk?: (host: string, chunk: Buffer) => void;
  log?: (line: string) => void;
  /** The language of the lines given to `log`. */
  lang?: Lang;
  /** Aborting stops a deployment in progress: what was made so far is removed and deploy() rejects. */
  signal?: AbortSignal;
}

/** The engine refused to create part of the lab; everything made so far has been removed. */
export class DeployError extends Error {
  override readonly name = 'DeployError';
}

type UndoKey = Extract<MessageKey, `run.undo.${string}`>;

interface Undo {
  /** What the undo does, as a catalog message (the teardown warning names it in the run's language). */
  what: { key: UndoKey; params: Readonly<Record<string, string>> };
  undo: () => Promise<unknown>;
}

/**
 * A lab whose network, containers, agents and captures exist. Only a deployed lab can run steps
 * or be torn down; disposing it (`await using`) removes everything it created — every host in
 * parallel, each in reverse order of creation, then the network, and meanwhile the tracing instance — logging teardown errors rather
 * than hiding the error that caused the teardown.
 */
export class DeployedLab implements AsyncDisposable {
  /** Per host, what to undo (in creation order); the network's undo runs after all hosts'. */
  private readonly hostTeardown = new Map<string, Undo[]>();
  private networkTeardown: Undo | undefined;
  private tracerTeardown: Undo | undefined;
  readonly hosts = new Map<string, DeployedHost>();
  network!: NetworkHandle;
  /** The run's tracefs instance (or why there is none); made before the first agent or capture starts. */
  kernelTracer!: KernelTracer;
  private disposed = false;

  private constructor(
    readonly runtime: Runtime,
    readonly lab: Lab,
    readonly options: DeployOptions,
  ) {}

  /**
   * Creates the network and one container per host, starts each host's agent and capture (hosts
   * in parallel). If any host fails, or the signal aborts, the others are let finish their current
   * stage, then everything is removed and the first error is re-thrown: nothing starts after the
   * teardown, so nothing is left running.
   */
  static async deploy(runtime: Runtime, lab: Lab, options: DeployOptions): Promise<DeployedLab> {
    const deployed = new DeployedLab(runtime, lab, options);
    try {
      deployed.checkAborted();
      await deployed.createNetwork();
      // The tracing instance is made while the containers are created; each host awaits it before its agent
      // and capture start, so it records from before the lab's first packet.
      const tracing = deployed.startKernelTracer();
      const started = await Promise.allSettled(
        lab.hosts.map((host, i) =>
          deployed.startHost(host.name, host.sysctls, i, tracing).catch((err: unknown) => {
            if (options.signal?.aborted) throw err;
            throw new DeployError(`could not start host ${host.name}: ${(err as Error).message}`, { cause: err });
          }),
        ),
      );
      await tracing; // also when a host failed before awaiting it: the instance's teardown must be registered first
      const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      deployed.kernelTracer.traceConnectCalls(
        Object.fromEntries([...deployed.hosts.values()].flatMap((h) => (h.agentTasks === undefined ? [] : [[h.name, h.agentTasks] as const]))),
      );
      return deployed;
    } catch (err) {
      await deployed[Symbol.asyncDispose]();
      throw err;
    }
  }

  /** Address of a host by name: its IPv4 address, or with `family` 6 its IPv6 address (a lab without IPv6 has none: an error). */
  addressOf(host: string, family: IpFamily = 4): string {
    const found = this.hosts.get(host);
    if (!found) throw new Error(`no deployed host "${host}"`);
    if (family === 4) return found.address;
    if (found.address6 === undefined) throw new Error(`host "${host}" has no IPv6 address: the lab's network is IPv4 only (no step says family: 6)`);
    return found.address6;
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
    const attempt = async ({ what, undo }: Undo): Promise<void> => {
      try {
        await undo();
      } catch (err) {
        const lang = this.options.lang ?? 'en';
        log(message(lang, 'run.teardownFailed', { what: message(lang, what.key, what.params), reason: (err as Error).message }));
      }
    };
    const hostsThenNetwork = async (): Promise<void> => {
      await Promise.all(
        [...this.hostTeardown.values()].map(async (stack) => {
          for (const undo of [...stack].reverse()) await attempt(undo);
        }),
      );
      if (this.networkTeardown) await attempt(this.networkTeardown);
    };
    // The tracing instance is independent of the hosts, and removing it is slow (KernelTracer.remove()): it goes
    // at the same time.
    await Promise.all([hostsThenNetwork(), this.tracerTeardown && attempt(this.tracerTeardown)]);
  }

  private labels(): Record<string, string> {
    return { [RUN_LABEL]: this.options.runId, [LAB_LABEL]: this.lab.name, ...ownerLabels(OWNER) };
  }

  private checkAborted(): void {
    if (this.options.signal?.aborted) throw this.options.signal.reason;
  }

  private onTeardown(host: string, key: UndoKey, undo: () => Promise<unknown>): void {
    const stack = this.hostTeardown.get(host) ?? [];
    stack.push({ what: { key, params: { host } }, undo });
    this.hostTeardown.set(host, stack);
  }

  private async createNetwork(): Promise<void> {
    const dualStack = labUsesIpv6(this.lab);
    const candidates = freeLabSubnets(await this.runtime.listSubnets(), Math.floor(Math.random() * SUBNET_POOL_SIZE));
    let lastError: unknown;
    for (const { subnet, subnet6 } of candidates.slice(0, 8)) {
      try {
        this.network = await this.runtime.createNetwork({
          name: `tcplab-${this.options.runId}`,
          subnet,
          ...(dualStack && { subnet6 }),
          labels: this.labels(),
        });
        const network = this.network;
        this.networkTeardown = { what: { key: 'run.undo.network', params: { name: network.name } }, undo: () => this.runtime.removeNetwork(network) };
        return;
      } catch (err) {
        // Another run took the subnet between our look and our create: try the next one.
        lastError = err;
      }
    }
    throw new Error(`could not create a lab network in 198.18.0.0/15: ${(lastError as Error)?.message ?? 'every /24 is in use'}`);
  }

  private async startKernelTracer(): Promise<void> {
    const addresses = this.lab.hosts.flatMap((_host, i) => this.addressesOfIndex(i));
    const engine = await this.runtime.engineInfo().catch(() => undefined);
    this.kernelTracer = await KernelTracer.start(this.options.runId, addresses, engine?.kernel);
    const tracer = this.kernelTracer;
    this.tracerTeardown = { what: { key: 'run.undo.tracer', params: { dir: tracer.instanceDir ?? '' } }, undo: () => tracer.remove() };
  }

  private async startHost(name: string, sysctls: Readonly<Record<string, string>>, index: number, tracing: Promise<void>): Promise<void> {
    const [address, address6] = this.addressesOfIndex(index) as [string, string | undefined];
    const handle = await this.runtime.startHost({
      name,
      containerName: `tcplab-${this.options.runId}-${name}`,
      image: this.options.image,
      network: this.network,
      address,
      ...(address6 !== undefined && { address6 }),
      sysctls: { ...(address6 !== undefined ? IPV6_ON_SYSCTLS : IPV6_OFF_SYSCTLS), ...sysctls },
      labels: this.labels(),
    });
    this.onTeardown(name, 'run.undo.container', () => this.runtime.removeHost(handle));
    await tracing;
    this.checkAborted();
    const dir = join(this.options.runDir, name);
    mkdirSync(dir, { recursive: true });
    // The agent and tcpdump start side by side; each is stopped on teardown whether or not the other started.
    let agentTasks: number[] | undefined;
    const startAgent = async (): Promise<AgentSession> => {
      const agentProc = await this.runtime.spawn(handle, ['node', '/opt/tcplab/agent/agent.js']);
      const agent = new AgentSession(name, agentProc, (event) => this.options.onAgentEvent?.(name, event));
      this.onTeardown(name, 'run.undo.agent', () => agent.stop());
      await agent.ready(15_000, this.options.signal);
      const agentPid = await agentProc.hostPid?.().catch(() => undefined);
      // After `ready`: a socket worker the agent starts before it is already forked.
      if (agentPid !== undefined) agentTasks = processTreeTasks(agentPid);
      return agent;
    };
    const startCapture = async (): Promise<PacketCapture> => {
      const capture = await PacketCapture.start(this.runtime, handle, join(dir, 'capture.pcap'), (chunk) => this.options.onPcapChunk?.(name, chunk));
      this.onTeardown(name, 'run.undo.capture', () => capture.stop());
      return capture;
    };
    const [agentStarted, captureStarted] = await Promise.allSettled([startAgent(), startCapture()]);
    if (agentStarted.status === 'rejected') throw agentStarted.reason;
    if (captureStarted.status === 'rejected') throw captureStarted.reason;
    const agent = agentStarted.value;
    const capture = captureStarted.value;
    this.checkAborted();
    this.hosts.set(name, {
      name,
      address,
      ...(address6 !== undefined && { address6 }),
      handle,
      agent,
      capture,
      dir,
      ...(agentTasks !== undefined && { agentTasks }),
    });
  }

  /** The `index`-th host's IPv4 address and, on a dual-stack network, its IPv6 address. */
  private addressesOfIndex(index: number): string[] {
    const subnet6 = this.network.subnet6;
    return [hostAddress(this.network.subnet, index), ...(subnet6 !== undefined ? [hostAddress6(subnet6, index)] : [])];
  }
}
