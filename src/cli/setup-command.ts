import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { CliError, ExitCode } from './exit-codes.js';

interface SetupFlags {
  dev?: boolean;
  offline?: boolean;
  startedFile?: string;
}

/** Debian packages a lab machine needs: the engine, and debootstrap for the registry-less base. */
const RUN_PACKAGES = ['docker.io', 'debootstrap'];
/** What the test suite needs on top: Chromium for the report tests, a CJK font for the zh report, tshark to compare captures. */
const DEV_PACKAGES = ['chromium', 'fonts-wqy-microhei', 'tshark'];
const STATE_DIR = process.env.TCPLAB_STATE_DIR ?? '/var/lib/tcplab';

/**
 * `tcplab setup`: the whole set-up of a fresh Debian/Ubuntu machine, as root, in one command:
 * installs Debian's docker.io and debootstrap when missing, starts dockerd when no engine answers,
 * and builds the lab image (through the debootstrap base when no registry answers).
 * `tcplab doctor` explains what this cannot fix.
 */
export function registerSetup(program: Command): void {
  program
    .command('setup')
    .description('install and start what labs need (Docker engine, debootstrap) and build the lab image; as root on Debian/Ubuntu')
    .option('--dev', `also install what the test suite needs (${DEV_PACKAGES.join(', ')})`)
    .option('--offline', 'build the lab image from a debootstrap base without trying a registry')
    .option('--started-file <file>', 'write the pid of the dockerd this setup started (nothing when an engine was already running)')
    .action(async (flags: SetupFlags) => {
      const { execa } = await import('execa');
      const say = (line: string): void => void process.stderr.write(`setup: ${line}\n`);
      const has = async (command: string): Promise<boolean> => (await execa('sh', ['-c', `command -v ${command}`], { reject: false })).exitCode === 0;

      const wanted = [...RUN_PACKAGES, ...(flags.dev ? DEV_PACKAGES : [])];
      const missing: string[] = [];
      for (const pkg of wanted) {
        const status = await execa('dpkg-query', ['-W', '-f=${Status}', pkg], { reject: false });
        if (!/install ok installed/.test(status.stdout)) missing.push(pkg);
      }
      if (missing.length > 0) {
        requireRoot(`install ${missing.join(', ')}`);
        if (!(await has('apt-get')))
          throw new CliError(`${missing.join(', ')} missing and this is not a Debian/Ubuntu machine: install them by hand`, ExitCode.environment);
        say(`installing ${missing.join(' ')} (apt-get)`);
        const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
        await execa('apt-get', ['update', '-qq'], { env, stdio: 'inherit' });
        const installed = await execa('apt-get', ['install', '-y', '-qq', ...missing], { env, reject: false, all: true });
        if (installed.exitCode !== 0) throw new CliError(`apt-get install ${missing.join(' ')} failed:\n${installed.all.slice(-2000)}`, ExitCode.environment);
      } else say(`${wanted.join(', ')}: installed`);

      const { DockerRuntime } = await import('../runtime/docker/docker-runtime.js');
      const runtime = new DockerRuntime();
      const answers = async (): Promise<boolean> =>
        runtime.engineInfo().then(
          () => true,
          () => false,
        );
      if (await answers()) say('a Docker engine answers');
      else {
        requireRoot('start dockerd');
        mkdirSync(STATE_DIR, { recursive: true });
        const logFile = `${STATE_DIR}/dockerd.log`;
        const log = openSync(logFile, 'a');
        const dockerd = spawn('dockerd', [], { detached: true, stdio: ['ignore', log, log] });
        closeSync(log);
        dockerd.unref();
        say(`started dockerd (pid ${dockerd.pid}, log ${logFile}); waiting for it to answer`);
        if (flags.startedFile) writeFileSync(flags.startedFile, `${dockerd.pid}\n`);
        let exited = false;
        dockerd.once('exit', () => (exited = true));
        for (let i = 0; i < 120 && !(await answers()); i++) {
          if (exited) throw new CliError(`dockerd exited at once; see ${logFile}`, ExitCode.environment);
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
        if (!(await answers())) throw new CliError(`dockerd did not answer within 60 s; see ${logFile}`, ExitCode.environment);
        say('the engine answers');
      }

      const { ensureLabImage } = await import('../runtime/lab-image.js');
      const tag = await ensureLabImage(runtime, { offline: flags.offline, log: say }).catch((err: Error) => {
        throw new CliError(`cannot make the lab image: ${err.message}\n  try: tcplab doctor`, ExitCode.environment);
      });
      say(`lab image ${tag} is ready; try: npx tcplab run syn-sent`);
    });
}

function requireRoot(what: string): void {
  if (process.getuid?.() !== 0) throw new CliError(`setup needs root to ${what}: run it as root (e.g. \`su -c 'npx tcplab setup'\`)`, ExitCode.environment);
}
