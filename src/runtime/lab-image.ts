import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { execa } from 'execa';
import { PACKAGE_ROOT } from '../package-root.js';
import type { Runtime } from './runtime.js';

/**
 * The lab image: docker/Dockerfile plus the compiled agent. Its tag carries a content hash of
 * both, so a changed agent or Dockerfile makes a new image and a stale one is never used.
 * The base is debian:bookworm-slim when it can be had from a registry; otherwise an equivalent
 * base is made from Debian packages with docker/make-base.sh (debootstrap + docker import).
 */
const DOCKERFILE = join(PACKAGE_ROOT, 'docker', 'Dockerfile');
const MAKE_BASE = join(PACKAGE_ROOT, 'docker', 'make-base.sh');
const DIST = join(PACKAGE_ROOT, 'dist');
const AGENT_ENTRY = join(DIST, 'agent', 'agent.js');
/** The socket worker the agent starts (Python, not compiled): copied next to agent.js in the image. */
const SOCKET_WORKER = join(PACKAGE_ROOT, 'src', 'agent', 'sockets.py');
const SOCKET_WORKER_IN_IMAGE = join('agent', 'sockets.py');
export const REGISTRY_BASE = 'debian:bookworm-slim';
export const OFFLINE_BASE = 'tcplab/base:bookworm';
export const IMAGE_REPO = 'tcplab/lab';
/** Label on every lab image (`tcplab clean --images` finds stale ones by it). */
export const LAB_IMAGE_LABEL = 'tcplab.image=lab';

export interface LabImage {
  tag: string;
  /** Files of dist/ that go into the image (the agent and what it imports), relative to dist/. */
  agentFiles: string[];
}

/** Computes the image tag from the Dockerfile, the agent's files and the socket worker (no engine needed). */
export function describeLabImage(): LabImage {
  const agentFiles = collectImports(AGENT_ENTRY)
    .map((f) => relative(DIST, f))
    .sort();
  const hash = createHash('sha256').update(readFileSync(DOCKERFILE));
  for (const file of agentFiles) hash.update(file).update(readFileSync(join(DIST, file)));
  hash.update(SOCKET_WORKER_IN_IMAGE).update(readFileSync(SOCKET_WORKER));
  return { tag: `${IMAGE_REPO}:${hash.digest('hex').slice(0, 12)}`, agentFiles };
}

export interface EnsureImageOptions {
  force?: boolean;
  /** Skip the registry and use the debootstrap base. */
  offline?: boolean;
  log?: (line: string) => void;
}

/** Returns the tag of an up-to-date lab image, building it (and its base) when missing or stale. */
export async function ensureLabImage(runtime: Runtime, options: EnsureImageOptions = {}): Promise<string> {
  const log = options.log ?? (() => {});
  const image = describeLabImage();
  if (!options.force && (await runtime.hasImage(image.tag))) return image.tag;
  const base = await ensureBaseImage(runtime, options.offline ?? false, log);
  const context = mkdtempSync(join(tmpdir(), 'tcplab-image-'));
  try {
    cpSync(DOCKERFILE, join(context, 'Dockerfile'));
    const target = join(context, 'tcplab');
    for (const file of image.agentFiles) {
      mkdirSync(dirname(join(target, file)), { recursive: true });
      cpSync(join(DIST, file), join(target, file));
    }
    cpSync(SOCKET_WORKER, join(target, SOCKET_WORKER_IN_IMAGE));
    // The compiled files are ES modules; Node needs to be told so outside this package.
    writeFileSync(join(target, 'package.json'), '{"type":"module"}\n');
    log(`building ${image.tag} on ${base}`);
    await runtime.buildImage({
      contextDir: context,
      tag: image.tag,
      buildArgs: { BASE: base },
      labels: Object.fromEntries([LAB_IMAGE_LABEL.split('=') as [string, string]]),
      onLine: log,
    });
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
  return image.tag;
}

/**
 * The base image's tag: the registry's when it is here or can be pulled, else the one made from Debian
 * packages. Pulling and importing go through the Runtime seam (the engine may be remote: DOCKER_HOST);
 * only the root file system is made locally, by docker/make-base.sh --tar (debootstrap, needs root).
 */
export async function ensureBaseImage(
  runtime: Runtime,
  offline: boolean,
  log: (line: string) => void,
  makeRootfs: RootfsMaker = debootstrapRootfs,
): Promise<string> {
  if (!offline) {
    if (await runtime.hasImage(REGISTRY_BASE)) return REGISTRY_BASE;
    const pulled = await runtime.pullImage(REGISTRY_BASE);
    if (pulled.ok) return REGISTRY_BASE;
    log(`cannot pull ${REGISTRY_BASE} (${pulled.reason}); using a base made from Debian packages`);
  }
  if (await runtime.hasImage(OFFLINE_BASE)) return OFFLINE_BASE;
  log(`making ${OFFLINE_BASE} with debootstrap (about 30 s)`);
  const rootfs = makeRootfs();
  const imported = runtime.importImage({ tarball: rootfs.tarball, tag: OFFLINE_BASE, changes: ['CMD ["bash"]'] });
  const [made] = await Promise.allSettled([rootfs.done, imported]);
  if (made.status === 'rejected') throw new Error(`could not make the base image ${OFFLINE_BASE}: ${(made.reason as Error).message}`);
  await imported;
  return OFFLINE_BASE;
}

/** A root file system as a tar stream, and a promise that settles when its maker has finished. */
export type RootfsMaker = () => { tarball: Readable; done: Promise<void> };

/** docker/make-base.sh --tar: debootstrap a minimal bookworm and write it as a tar stream on stdout. */
function debootstrapRootfs(): { tarball: Readable; done: Promise<void> } {
  const child = execa(MAKE_BASE, ['--tar'], { reject: false, stdout: 'pipe', stderr: 'pipe', encoding: 'buffer', buffer: { stdout: false, stderr: true } });
  const done = child.then((result) => {
    if (result.exitCode !== 0) throw new Error(lastLine(Buffer.from(result.stderr).toString('utf8')));
  });
  return { tarball: child.stdout, done };
}

/** The entry file plus every relative module it imports, transitively (compiled ESM). */
function collectImports(entry: string, seen = new Set<string>()): string[] {
  if (seen.has(entry)) return [];
  seen.add(entry);
  const source = readFileSync(entry, 'utf8');
  for (const match of source.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
    collectImports(resolve(dirname(entry), match[1] as string), seen);
  }
  return [...seen];
}

function lastLine(text: string): string {
  return text.trim().split('\n').pop() ?? '';
}
