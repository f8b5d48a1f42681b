import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { PassThrough } from 'node:stream';
import Docker from 'dockerode';
import {
  EngineUnavailableError,
  type EngineInfo,
  type ExecResult,
  type HostHandle,
  type HostProcess,
  type HostSpec,
  type ImageBuildSpec,
  type ImageImportSpec,
  type PullResult,
  type LabelledResources,
  type NetworkHandle,
  type NetworkSpec,
  type Runtime,
  type ThrowawaySpec,
} from '../runtime.js';
import { ChildEhashWindow } from './private-ehash.js';
import { isolateFromHost, listIsolatedNetworks, releaseFromHost, runOnThisMachine, type EngineHostCommand } from './host-isolation.js';

/** The Runtime on a Docker engine (through dockerode and the engine's socket; DOCKER_HOST is honoured). */
export class DockerRuntime implements Runtime {
  private readonly docker: Docker;
  /** Runs iptables on the engine's host; undefined when the engine is remote (no way to reach its host yet). */
  private readonly engineHost: EngineHostCommand | undefined;
  /** Gives each lab namespace a socket hash table of its own while it is made (private-ehash.ts); only for an engine on this machine. */
  private readonly ehashWindow: Pick<ChildEhashWindow, 'around'>;

  constructor(docker = new Docker(), engineHost: EngineHostCommand | undefined = engineIsLocal() ? runOnThisMachine : undefined) {
    this.docker = docker;
    this.engineHost = engineHost;
    this.ehashWindow = engineHost === undefined ? { around: (start) => start() } : new ChildEhashWindow();
  }

  async engineInfo(): Promise<EngineInfo> {
    try {
      const [version, info] = await Promise.all([this.docker.version(), this.docker.info() as Promise<{ CgroupVersion?: string }>]);
      return {
        name: 'Docker Engine',
        version: version.Version,
        apiVersion: version.ApiVersion,
        kernel: version.KernelVersion ?? '',
        cgroupVersion: String(info.CgroupVersion ?? '?'),
      };
    } catch (err) {
      const where = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
      throw new EngineUnavailableError(
        `no Docker engine answers at ${where} (${(err as Error).message}). ` +
          `Start one with: npx tcplab setup (as root: installs Debian's docker.io when missing and starts dockerd)`,
      );
    }
  }

  async hasImage(tag: string): Promise<boolean> {
    try {
      await this.docker.getImage(tag).inspect();
      return true;
    } catch (err) {
      if (statusOf(err) === 404) return false;
      throw err;
    }
  }

  async buildImage(spec: ImageBuildSpec): Promise<void> {
    const stream = await this.docker.buildImage(
      { context: spec.contextDir, src: listFiles(spec.contextDir) },
      { t: spec.tag, buildargs: spec.buildArgs, labels: spec.labels, rm: true, forcerm: true },
    );
    let buildError: string | undefined;
    await new Promise<void>((resolve, reject) => {
      this.docker.modem.followProgress(
        stream,
        (err: Error | null) => (err ? reject(err) : resolve()),
        (event: { stream?: string; error?: string; errorDetail?: { message?: string } }) => {
          if (event.error) buildError = event.errorDetail?.message ?? event.error;
          for (const line of (event.stream ?? '').split('\n')) if (line.trim()) spec.onLine?.(line);
        },
      );
    });
    if (buildError) throw new Error(`docker build of ${spec.tag} failed: ${buildError}`);
  }

  async pullImage(ref: string): Promise<PullResult> {
    try {
      const stream = await this.docker.pull(ref);
      let pullError: string | undefined;
      await new Promise<void>((resolve, reject) => {
        this.docker.modem.followProgress(
          stream,
          (err: Error | null) => (err ? reject(err) : resolve()),
          (event: { error?: string }) => {
            if (event.error) pullError = event.error;
          },
        );
      });
      return pullError === undefined ? { ok: true } : { ok: false, reason: pullError };
    } catch (err) {
      return { ok: false, reason: (err as Error).message.split('\n')[0] ?? String(err) };
    }
  }

  async importImage(spec: ImageImportSpec): Promise<void> {
    const colon = spec.tag.lastIndexOf(':');
    const [repo, tag] = colon > spec.tag.lastIndexOf('/') ? [spec.tag.slice(0, colon), spec.tag.slice(colon + 1)] : [spec.tag, 'latest'];
    const stream = await this.docker.importImage(spec.tarball, { repo, tag, changes: spec.changes } as unknown as Record<string, unknown>);
    await new Promise<void>((resolve, reject) => {
      this.docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve()));
    });
  }

  async createNetwork(spec: NetworkSpec): Promise<NetworkHandle> {
    const engineHost = this.engineHost;
    if (!engineHost) {
      throw new Error(
        `the engine at ${process.env.DOCKER_HOST} is remote: tcplab blocks lab traffic to the engine's host with a host firewall ` +
          'rule, which it can only add on this machine. Run tcplab on the machine of the engine (unset DOCKER_HOST).',
      );
    }
    // EnableIPv6 on a user-defined bridge needs no daemon setting on Docker 20.10 (the daemon's `ipv6`
    // flag is for the default bridge only; measured on 20.10.24: an internal network with an fd00::/64
    // subnet is created and its containers get their fixed addresses).
    const network = await this.docker.createNetwork({
      Name: spec.name,
      Driver: 'bridge',
      Internal: true,
      CheckDuplicate: true,
      Labels: spec.labels,
      EnableIPv6: spec.subnet6 !== undefined,
      IPAM: { Driver: 'default', Config: [{ Subnet: spec.subnet }, ...(spec.subnet6 !== undefined ? [{ Subnet: spec.subnet6 }] : [])] },
    });
    const handle = { id: network.id, name: spec.name, subnet: spec.subnet, ...(spec.subnet6 !== undefined && { subnet6: spec.subnet6 }) };
    try {
      await isolateFromHost(engineHost, network.id, spec.name);
    } catch (err) {
      await this.removeNetwork(handle);
      throw err;
    }
    return handle;
  }

  async startHost(spec: HostSpec): Promise<HostHandle> {
    const container = await this.docker.createContainer({
      name: spec.containerName,
      Hostname: spec.name,
      Image: spec.image,
      // PID 1 only waits; the agent and the observers are separate processes (exec) we can stop.
      Cmd: ['sleep', 'infinity'],
      Labels: spec.labels,
      HostConfig: {
        NetworkMode: spec.network.name,
        CapAdd: ['NET_ADMIN', 'NET_RAW'],
        Sysctls: spec.sysctls,
        AutoRemove: false,
      },
      NetworkingConfig: {
        EndpointsConfig: {
          [spec.network.name]: {
            IPAMConfig: { IPv4Address: spec.address, ...(spec.address6 !== undefined && { IPv6Address: spec.address6 }) },
            // The lab host's own name resolves (Docker's embedded DNS) to its addresses of both families.
            Aliases: [spec.name],
          },
        },
      },
    });
    const handle = { id: container.id, name: spec.name, address: spec.address };
    try {
      await this.ehashWindow.around(() => container.start());
    } catch (err) {
      await this.removeHost(handle);
      throw err;
    }
    return handle;
  }

  async exec(host: HostHandle, argv: readonly string[]): Promise<ExecResult> {
    return collectOutput(await this.spawn(host, argv));
  }

  async spawn(host: HostHandle, argv: readonly string[]): Promise<HostProcess> {
    const exec = await this.docker.getContainer(host.id).exec({
      Cmd: [...argv],
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
    });
    const duplex = await exec.start({ hijack: true, stdin: true });
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    this.docker.modem.demuxStream(duplex, stdout, stderr);
    const stdin = new PassThrough();
    stdin.pipe(duplex);
    const exited = new Promise<number>((resolve, reject) => {
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        stdout.end();
        stderr.end();
        exec.inspect().then(
          (info) => resolve(info.ExitCode ?? -1),
          (err: Error) => reject(err),
        );
      };
      duplex.on('end', finish);
      duplex.on('close', finish);
      duplex.on('error', (err: Error) => {
        if (!done) reject(err);
      });
    });
    const hostPid = async (): Promise<number | undefined> => {
      const pid = (await exec.inspect()).Pid;
      return typeof pid === 'number' && pid > 0 ? pid : undefined;
    };
    return { stdin, stdout, stderr, exited, hostPid };
  }

  async runThrowaway(spec: ThrowawaySpec): Promise<ExecResult> {
    const container = await this.docker.createContainer({
      Image: spec.image,
      Cmd: ['sleep', '300'],
      Labels: spec.labels,
      HostConfig: { NetworkMode: 'none', CapAdd: [...(spec.capAdd ?? [])], AutoRemove: false },
    });
    const handle = { id: container.id, name: 'throwaway', address: '' };
    try {
      await container.start();
      return await collectOutput(await this.spawn(handle, spec.argv), spec.stdin);
    } finally {
      await this.removeHost(handle);
    }
  }

  async removeHost(host: HostHandle): Promise<void> {
    try {
      await this.docker.getContainer(host.id).remove({ force: true, v: true });
    } catch (err) {
      if (statusOf(err) !== 404 && statusOf(err) !== 409) throw err;
    }
  }

  async removeNetwork(network: NetworkHandle): Promise<void> {
    try {
      await this.docker.getNetwork(network.id).remove();
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
    }
    if (this.engineHost) await releaseFromHost(this.engineHost, network.id, network.name);
  }

  async sweepIsolationRules(): Promise<number> {
    if (!this.engineHost) return 0;
    const live = new Set((await this.docker.listNetworks()).map((n) => n.Id.slice(0, 12)));
    let removed = 0;
    for (const rule of await listIsolatedNetworks(this.engineHost)) {
      if (live.has(rule.networkId12)) continue;
      await releaseFromHost(this.engineHost, rule.networkId12, rule.networkName);
      removed++;
    }
    return removed;
  }

  async listLabelled(label: string): Promise<LabelledResources> {
    const filters = JSON.stringify({ label: [label] });
    const [containers, networks, images] = await Promise.all([
      this.docker.listContainers({ all: true, filters }),
      this.docker.listNetworks({ filters }),
      this.docker.listImages({ filters }),
    ]);
    return {
      containers: containers.map((c) => ({ id: c.Id, name: (c.Names[0] ?? '').replace(/^\//, ''), labels: c.Labels })),
      networks: networks.map((n) => ({ id: n.Id, name: n.Name, labels: n.Labels ?? {} })),
      images: images.map((i) => ({ id: i.Id, tags: i.RepoTags ?? [], labels: i.Labels ?? {} })),
    };
  }

  async removeImage(image: string): Promise<void> {
    try {
      await this.docker.getImage(image).remove();
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
    }
  }

  async listSubnets(): Promise<string[]> {
    const networks = await this.docker.listNetworks();
    return networks.flatMap((n) => (n.IPAM?.Config ?? []).map((c) => c.Subnet).filter((s): s is string => !!s));
  }
}

/** Feeds `stdin` (nothing by default) to a started process and collects its output and exit code. */
async function collectOutput(proc: HostProcess, stdin: string | Buffer = ''): Promise<ExecResult> {
  proc.stdin.end(stdin);
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  proc.stdout.on('data', (b: Buffer) => stdout.push(b));
  proc.stderr.on('data', (b: Buffer) => stderr.push(b));
  const exitCode = await proc.exited;
  return { exitCode, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr).toString('utf8') };
}

/** The engine is on this machine when DOCKER_HOST is unset or names a unix socket. */
function engineIsLocal(): boolean {
  const host = process.env.DOCKER_HOST;
  return !host || host.startsWith('unix://') || host.startsWith('/');
}

function statusOf(err: unknown): number | undefined {
  return (err as { statusCode?: number }).statusCode;
}

function listFiles(dir: string, root = dir): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? listFiles(path, root) : [relative(root, path)];
  });
}
