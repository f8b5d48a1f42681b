import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../helpers/run-cli.js';
import { ensureBaseImage, OFFLINE_BASE, REGISTRY_BASE } from '../../../src/runtime/lab-image.js';
import type { ImageImportSpec, PullResult, Runtime } from '../../../src/runtime/runtime.js';

/** The image half of a Runtime, recording calls; the rest is never reached by ensureBaseImage. */
function imageRuntime(images: string[], pull: PullResult): { runtime: Runtime; calls: string[]; imported: Buffer[] } {
  const calls: string[] = [];
  const imported: Buffer[] = [];
  const unreachable = async (): Promise<never> => {
    throw new Error('not part of the image seam');
  };
  const runtime: Runtime = {
    engineInfo: unreachable,
    hasImage: async (tag) => {
      calls.push(`has ${tag}`);
      return images.includes(tag);
    },
    buildImage: unreachable,
    pullImage: async (ref) => {
      calls.push(`pull ${ref}`);
      if (pull.ok) images.push(ref);
      return pull;
    },
    importImage: async (spec: ImageImportSpec) => {
      calls.push(`import ${spec.tag} ${spec.changes.join(' ')}`);
      for await (const chunk of spec.tarball) imported.push(Buffer.from(chunk as Uint8Array));
      images.push(spec.tag);
    },
    createNetwork: unreachable,
    runThrowaway: unreachable,
    sweepIsolationRules: unreachable,
    startHost: unreachable,
    exec: unreachable,
    spawn: unreachable,
    removeHost: unreachable,
    removeNetwork: unreachable,
    removeImage: unreachable,
    listLabelled: unreachable,
    listSubnets: unreachable,
  };
  return { runtime, calls, imported };
}

const fakeRootfs = () => ({ tarball: Readable.from([Buffer.from('rootfs tar bytes')]), done: Promise.resolve() });

describe('the base image goes through the Runtime seam (pull, import), never a docker CLI', () => {
  it('pulls the registry base through the runtime', async () => {
    const { runtime, calls } = imageRuntime([], { ok: true });
    expect(await ensureBaseImage(runtime, false, () => {}, fakeRootfs)).toBe(REGISTRY_BASE);
    expect(calls).toEqual([`has ${REGISTRY_BASE}`, `pull ${REGISTRY_BASE}`]);
  });

  it('without a registry, imports the debootstrap root file system through the runtime, and says why', async () => {
    const { runtime, calls, imported } = imageRuntime([], { ok: false, reason: 'dial tcp: lookup registry-1.docker.io: no such host' });
    const log: string[] = [];
    expect(await ensureBaseImage(runtime, false, (l) => log.push(l), fakeRootfs)).toBe(OFFLINE_BASE);
    expect(calls).toEqual([`has ${REGISTRY_BASE}`, `pull ${REGISTRY_BASE}`, `has ${OFFLINE_BASE}`, `import ${OFFLINE_BASE} CMD ["bash"]`]);
    expect(Buffer.concat(imported).toString()).toBe('rootfs tar bytes');
    expect(log[0]).toContain('no such host');
  });

  it('a failed debootstrap is an error naming the base image', async () => {
    const { runtime } = imageRuntime([], { ok: false, reason: 'offline' });
    const failing = () => ({ tarball: Readable.from([]), done: Promise.reject(new Error('debootstrap is missing')) });
    await expect(ensureBaseImage(runtime, true, () => {}, failing)).rejects.toThrow(`could not make the base image ${OFFLINE_BASE}: debootstrap is missing`);
  });

  it('lab-image.ts runs no docker command of its own', () => {
    const source = readFileSync(join(REPO_ROOT, 'src/runtime/lab-image.ts'), 'utf8');
    expect(source).not.toMatch(/execa\(\s*['"]docker['"]/);
  });
});
