import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { SysctlFacts } from '../lab/kernel-sysctls.js';
import type { Runtime } from './runtime.js';

/**
 * Reads which net.* sysctls a lab host's network namespace has, their values and which are writable,
 * once per lab image and kernel, from a throw-away container with no network; cached on disk as JSON
 * (`~/.cache/tcplab/sysctl-facts/<image>@<kernel>.json`, or under $XDG_CACHE_HOME / TCPLAB_CACHE_DIR).
 */
const PROBE_SCRIPT = ["sysctl -a --pattern '^net\\.' 2>/dev/null", "echo '#writable'", 'find /proc/sys/net -type f -perm -u=w 2>/dev/null'].join('; ');

/** The cache folder of tcplab: TCPLAB_CACHE_DIR, else $XDG_CACHE_HOME/tcplab, else ~/.cache/tcplab. */
export function defaultCacheDir(): string {
  return process.env['TCPLAB_CACHE_DIR'] ?? join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'tcplab');
}

/** The sysctl facts of `image` on the engine's kernel: from the cache, or probed (and cached) on first use. */
export async function readSysctlFacts(runtime: Runtime, image: string, cacheDir: string = defaultCacheDir()): Promise<SysctlFacts> {
  const kernel = (await runtime.engineInfo()).kernel || 'unknown-kernel';
  const file = join(cacheDir, 'sysctl-facts', `${safeName(image)}@${safeName(kernel)}.json`);
  const cached = readCached(file, image, kernel);
  if (cached !== undefined) return cached;
  const result = await runtime.runThrowaway({ image, argv: ['sh', '-c', PROBE_SCRIPT], labels: { 'tcplab.probe': 'sysctl' } });
  const facts = parseSysctlProbe(result.stdout.toString('utf8'), image, kernel);
  if (Object.keys(facts.values).length === 0) {
    const said = `exit ${result.exitCode}: ${result.stderr.trim().slice(0, 200)}`;
    throw new Error(`the sysctl probe in ${image} printed no net.* sysctls (${said}); rebuild the image: tcplab image build --force`);
  }
  mkdirSync(join(cacheDir, 'sysctl-facts'), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(facts)}\n`);
  renameSync(temporary, file);
  return facts;
}

/** Parses the probe's output: `key = value` lines, then `#writable`, then /proc/sys paths of writable files. */
export function parseSysctlProbe(output: string, image: string, kernel: string): SysctlFacts {
  const values: Record<string, string> = {};
  const writable: string[] = [];
  let inWritable = false;
  for (const line of output.split('\n')) {
    if (line === '#writable') {
      inWritable = true;
    } else if (inWritable) {
      if (line.startsWith('/proc/sys/')) writable.push(line.slice('/proc/sys/'.length).replaceAll('/', '.'));
    } else {
      const match = /^(net\.\S+) = ?(.*)$/.exec(line);
      if (match !== null) values[match[1] as string] = match[2] as string;
    }
  }
  return { image, kernel, values, writable: writable.sort() };
}

function readCached(file: string, image: string, kernel: string): SysctlFacts | undefined {
  try {
    const facts = JSON.parse(readFileSync(file, 'utf8')) as SysctlFacts;
    return facts.image === image && facts.kernel === kernel && typeof facts.values === 'object' && Array.isArray(facts.writable) ? facts : undefined;
  } catch {
    return undefined;
  }
}

function safeName(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]/g, '_');
}
