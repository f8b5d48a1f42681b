import { accessSync, constants } from 'node:fs';
import type { Command } from 'commander';
import { ExitCode } from './exit-codes.js';

interface Finding {
  ok: boolean;
  what: string;
  fix?: string;
  /** A limit tcplab works around (printed as `warn`, not counted as a failure). */
  advisory?: boolean;
}

/** `tcplab doctor`: what this machine lacks to run labs, each with the command that fixes it. */
export function registerDoctor(program: Command, setExitCode: (code: number) => void): void {
  program
    .command('doctor')
    .description('check the Docker engine, the lab image and privileges; print the fix for each problem')
    .action(async () => {
      const { execa } = await import('execa');
      const { DockerRuntime } = await import('../runtime/docker/docker-runtime.js');
      const { describeLabImage, OFFLINE_BASE, REGISTRY_BASE } = await import('../runtime/lab-image.js');
      const findings: Finding[] = [];
      const runtime = new DockerRuntime();
      let engine = false;
      let engineKernel: string | undefined;
      try {
        const info = await runtime.engineInfo();
        engine = true;
        engineKernel = info.kernel;
        findings.push({ ok: true, what: `${info.name} ${info.version} (API ${info.apiVersion}, kernel ${info.kernel}, cgroup v${info.cgroupVersion})` });
      } catch {
        const installed = await execa('sh', ['-c', 'command -v dockerd'], { reject: false });
        findings.push({
          ok: false,
          what: installed.exitCode === 0 ? 'Docker engine installed but not running' : 'no Docker engine installed',
          fix: "npx tcplab setup   (as root: installs Debian's docker.io when missing, starts dockerd, builds the lab image)",
        });
      }
      const image = describeLabImage();
      if (engine) {
        if (await runtime.hasImage(image.tag)) findings.push({ ok: true, what: `lab image ${image.tag} is built and current` });
        else {
          const hasBase = (await runtime.hasImage(REGISTRY_BASE)) || (await runtime.hasImage(OFFLINE_BASE));
          findings.push({ ok: true, what: `lab image ${image.tag} is not built yet: the first run builds it, or now: npx tcplab image build` });
          if (!hasBase) {
            const pull = await execa('docker', ['pull', REGISTRY_BASE], { reject: false, timeout: 60_000 });
            if (pull.exitCode !== 0) {
              const debootstrap = await execa('sh', ['-c', 'command -v debootstrap'], { reject: false });
              findings.push(
                debootstrap.exitCode === 0
                  ? { ok: true, what: `no registry (${REGISTRY_BASE} cannot be pulled); the base will be made with debootstrap` }
                  : {
                      ok: false,
                      what: `no registry and no debootstrap to make the base image`,
                      fix: 'npx tcplab setup   (as root), or: apt-get install -y debootstrap',
                    },
              );
            }
          }
        }
      }
      findings.push(
        process.getuid?.() === 0
          ? { ok: true, what: 'running as root (debootstrap and dockerd can be started)' }
          : canWrite('/var/run/docker.sock')
            ? { ok: true, what: 'not root, but the Docker socket is writable' }
            : { ok: false, what: 'not root and the Docker socket is not writable', fix: 'sudo usermod -aG docker $USER (then log in again), or run as root' },
      );
      const { checkCallPathSupport, checkTracefs, TRACEFS } = await import('../run/kernel-tracer.js');
      const tracefs = await checkTracefs(engineKernel);
      findings.push(
        tracefs.ok
          ? { ok: true, what: `tracefs at ${TRACEFS}: exact socket states from the kernel's tracepoints (trace_clock ${tracefs.traceClock})` }
          : {
              ok: false,
              advisory: true,
              what: `no kernel trace: ${tracefs.reason}; runs fall back to /proc/net/tcp samples every 5 ms and say so`,
              fix: tracefs.fix,
            },
      );
      if (tracefs.ok) {
        const paths = checkCallPathSupport();
        const missing = [
          !paths.stacks && 'stacktrace triggers',
          !paths.connectSyscall && 'syscalls:sys_*_connect',
          !paths.routeLookup && 'fib:fib_table_lookup',
        ].filter((m): m is string => m !== false);
        const durations = paths.functionGraph
          ? 'function_graph exists but is not used'
          : 'no function_graph tracer: no function durations, only the time between events';
        findings.push(
          missing.length === 0
            ? { ok: true, what: `kernel call paths: stacks of the socket events, connect(2) return values (${durations})` }
            : {
                ok: false,
                advisory: true,
                what: `kernel call paths without ${missing.join(', ')} (${durations})`,
                fix: 'a kernel with CONFIG_FTRACE_SYSCALLS and event triggers',
              },
        );
      }
      for (const f of findings) {
        process.stdout.write(`${f.ok ? 'ok  ' : f.advisory ? 'warn' : 'FIX '} ${f.what}\n`);
        if (f.fix) process.stdout.write(`      → ${f.fix}\n`);
      }
      setExitCode(findings.every((f) => f.ok || f.advisory) ? ExitCode.ok : ExitCode.environment);
    });
}

function canWrite(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
