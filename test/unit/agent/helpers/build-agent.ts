/**
 * Builds the agent for tests exactly as it will be deployed: only src/agent/*, src/tcp/state.ts, src/assert-never.ts,
 * src/observe/proc-net-tcp.ts, ip-address.ts and netstat-render.ts are copied into a temporary tree and compiled with tsc (lib ES2022, a
 * rough guard against APIs newer than the image's Node 18), next to a package.json of type module.
 * A compile error here also means the agent imports something the image will not have.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

export interface BuiltAgent {
  /** Absolute path of the compiled agent.js. */
  agentPath: string;
  /** Deletes the temporary build folder. */
  remove(): void;
}

/** Compiles the agent into a fresh temporary folder; throws with tsc's output on errors. */
export function buildAgent(): BuiltAgent {
  const root = mkdtempSync(join(tmpdir(), 'tcplab-agent-'));
  const copy = (from: string, to: string): void => {
    mkdirSync(dirname(join(root, to)), { recursive: true });
    copyFileSync(join(repoRoot, from), join(root, to));
  };
  for (const file of readdirSync(join(repoRoot, 'src/agent'))) {
    if (file.endsWith('.ts')) copy(`src/agent/${file}`, `src/agent/${file}`);
  }
  copy('src/tcp/state.ts', 'src/tcp/state.ts');
  copy('src/assert-never.ts', 'src/assert-never.ts');
  copy('src/observe/proc-net-tcp.ts', 'src/observe/proc-net-tcp.ts');
  copy('src/observe/ip-address.ts', 'src/observe/ip-address.ts');
  copy('src/observe/netstat-render.ts', 'src/observe/netstat-render.ts');
  writeFileSync(
    join(root, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        lib: ['ES2022'],
        types: ['node'],
        typeRoots: [join(repoRoot, 'node_modules/@types')],
        rootDir: 'src',
        outDir: 'dist',
        strict: true,
        noUncheckedIndexedAccess: true,
        skipLibCheck: true,
      },
      include: ['src/**/*.ts'],
    }),
  );
  writeFileSync(join(root, 'package.json'), JSON.stringify({ type: 'module', private: true }));
  try {
    execFileSync(process.execPath, [join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.json')], {
      cwd: root,
      encoding: 'utf8',
      stdio: 'pipe',
    });
  } catch (err) {
    const output = err as { stdout?: string; stderr?: string };
    throw new Error(`building the agent in ${root} failed (expected a clean tsc run):\n${output.stdout ?? ''}${output.stderr ?? ''}`);
  }
  // The socket worker is not compiled: it goes next to agent.js, as in the image (src/runtime/lab-image.ts).
  copy('src/agent/sockets.py', 'dist/agent/sockets.py');
  return { agentPath: join(root, 'dist/agent/agent.js'), remove: () => rmSync(root, { recursive: true, force: true }) };
}
