import type { Readable, Writable } from 'node:stream';

/**
 * The one narrow seam between tcplab and a container engine. Everything above it (the run
 * orchestration, observers, verification) talks to this interface; runtime/docker/ is the only
 * implementation that touches Docker, and tests of the layers above use a fake.
 */
export interface Runtime {
  /** Engine name and version; throws EngineUnavailableError when no engine answers. */
  engineInfo(): Promise<EngineInfo>;
  /** True when an image with this tag exists locally. */
  hasImage(tag: string): Promise<boolean>;
  /** Builds `dockerfile` in `contextDir` as `tag`, passing build args; streams build output to onLine. */
  buildImage(spec: ImageBuildSpec): Promise<void>;
  /** Pulls `ref` from its registry; a registry that cannot be reached is `{ ok: false, reason }`, not an error. */
  pullImage(ref: string): Promise<PullResult>;
  /** Imports a root file system tarball (a stream of tar bytes) as image `tag`, with Dockerfile `changes` (e.g. `CMD ["bash"]`). */
  importImage(spec: ImageImportSpec): Promise<void>;
  /**
   * Creates an isolated network with the given subnet: no route off the machine (internal), and
   * nothing from it reaches the engine's host itself (any of its addresses).
   */
  createNetwork(spec: NetworkSpec): Promise<NetworkHandle>;
  /** Creates and starts one lab host container attached to its network at a fixed address. */
  startHost(spec: HostSpec): Promise<HostHandle>;
  /** Runs argv inside a host and waits for it; output is collected (binary-safe). */
  exec(host: HostHandle, argv: readonly string[]): Promise<ExecResult>;
  /** Starts argv inside a host with stdin, stdout and stderr connected; returns at once. */
  spawn(host: HostHandle, argv: readonly string[]): Promise<HostProcess>;
  /**
   * Runs argv in a throw-away container of `image` with no network (`--network none`), feeding `stdin`,
   * and removes the container; for probes of what the image and the kernel accept (no lab is created).
   */
  runThrowaway(spec: ThrowawaySpec): Promise<ExecResult>;
  /** Removes a host container (forcefully; missing is fine). */
  removeHost(host: HostHandle): Promise<void>;
  /** Removes a network and its host isolation (missing is fine). */
  removeNetwork(network: NetworkHandle): Promise<void>;
  /** Removes host isolation rules whose network no longer exists (left by killed runs); returns how many. */
  sweepIsolationRules(): Promise<number>;
  /** Removes an image by tag or id (missing is fine; an image in use is an error). */
  removeImage(image: string): Promise<void>;
  /** Everything carrying `label` (key or key=value): for `tcplab clean` and subnet choice. */
  listLabelled(label: string): Promise<LabelledResources>;
  /** Subnets (CIDR) of every network the engine knows, to avoid collisions. */
  listSubnets(): Promise<string[]>;
}

export interface EngineInfo {
  name: string;
  version: string;
  apiVersion: string;
  kernel: string;
  cgroupVersion: string;
}

export interface ImageBuildSpec {
  contextDir: string;
  tag: string;
  buildArgs: Record<string, string>;
  labels: Record<string, string>;
  onLine?: (line: string) => void;
}

export type PullResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };

export interface ImageImportSpec {
  tarball: Readable;
  tag: string;
  changes: string[];
}

export interface NetworkSpec {
  name: string;
  subnet: string;
  /** An IPv6 subnet (ULA /64) as well: the network is dual-stack (Docker's EnableIPv6). Absent: IPv4 only. */
  subnet6?: string;
  labels: Record<string, string>;
}

export interface NetworkHandle {
  id: string;
  name: string;
  subnet: string;
  subnet6?: string;
}

export interface HostSpec {
  name: string;
  containerName: string;
  image: string;
  network: NetworkHandle;
  address: string;
  /** The host's fixed IPv6 address in the network's `subnet6` (dual-stack networks only). */
  address6?: string;
  sysctls: Record<string, string>;
  labels: Record<string, string>;
}

export interface ThrowawaySpec {
  image: string;
  argv: readonly string[];
  labels: Record<string, string>;
  /** Extra capabilities, e.g. NET_ADMIN for iptables. */
  capAdd?: readonly string[];
  stdin?: string;
}

export interface HostHandle {
  id: string;
  name: string;
  address: string;
}

export interface ExecResult {
  exitCode: number;
  stdout: Buffer;
  stderr: string;
}

export interface HostProcess {
  stdin: Writable;
  stdout: Readable;
  stderr: Readable;
  /** Resolves with the exit code once the process has ended and its output is drained. */
  exited: Promise<number>;
  /** The process's pid in the engine's pid namespace (for tracing its syscalls), when the engine tells it. */
  hostPid?: () => Promise<number | undefined>;
}

export interface LabelledResources {
  containers: { id: string; name: string; labels: Record<string, string> }[];
  networks: { id: string; name: string; labels: Record<string, string> }[];
  images: { id: string; tags: string[]; labels: Record<string, string> }[];
}

/** No engine answered: the message says what was tried and how to start one. */
export class EngineUnavailableError extends Error {
  override readonly name = 'EngineUnavailableError';
}
