import type { Step } from '../lab/model.js';
import type { DeployedLab } from './deployed-lab.js';

/*
 * The `inject` step: one crafted TCP segment, sent by hping3 from the host's own address (nothing is
 * spoofed: no -a) to a lab host's address, the only destination a lab file can name (load time:
 * check-lab-references.ts injectTargetProblem()); before sending, the address is checked once more to lie in the
 * run's own /24 (DESIGN.md "Network safety"). hping3 writes the segment on a raw socket, so no socket of the host
 * is behind it: the kernel's TCP never sees it leave, and the analysis marks it "injected".
 *
 * hping3 sends its first packet at once, then waits COUNTREACHED_TIMEOUT (1 s) for replies after the last;
 * `timeout -s INT` ends that wait after INJECT_WAIT_S (SIGINT prints hping3's statistics, whose "N packets
 * transmitted" line proves the segment left) so the step takes a fraction of a second, not over one.
 */

type InjectStep = Extract<Step, { kind: 'inject' }>;

/** How long hping3 may run: it sends at once; the rest is its wait for replies, which the lab reads from the capture. */
const INJECT_WAIT_S = '0.3';

/** hping3's flag options for tcpdump's letters (hping3(8): -F -S -R -P -A -U, -X for ECE (its "X" bit 0x40), -Y for CWR (0x80)). */
const HPING_FLAG_OPTIONS: Readonly<Record<string, string>> = { F: '-F', S: '-S', R: '-R', P: '-P', '.': '-A', U: '-U', E: '-X', W: '-Y' };

/** The argv that sends `step`'s segment to `target` (an IPv4 address); pure. */
export function injectArgv(step: InjectStep, target: string): string[] {
  const letters = step.flags === 'none' ? '' : step.flags;
  const flagOptions = [...letters].map((letter) => {
    const option = HPING_FLAG_OPTIONS[letter];
    if (option === undefined) throw new Error(`inject: flag letter "${letter}" has no hping3 option; the lab loader accepts only F S R P . U E W`);
    return option;
  });
  return [
    'timeout',
    '-s',
    'INT',
    '--preserve-status',
    INJECT_WAIT_S,
    'hping3',
    '-c',
    '1',
    '-n',
    '-I',
    'eth0',
    // -s is the base source port; -k keeps it (hping3 otherwise increments it per packet)
    '-s',
    String(step.fromPort),
    '-k',
    '-p',
    String(step.port),
    '-M',
    String(step.seq),
    '-L',
    String(step.ack),
    '-w',
    String(step.window),
    '-d',
    String(step.bytes),
    ...flagOptions,
    target,
  ];
}

/** True when `address` lies in the IPv4 /24 `subnet` (`a.b.c.0/24`) and is neither its network nor its broadcast address. */
export function isInLabSubnet(address: string, subnet: string): boolean {
  const net = /^(\d{1,3}\.\d{1,3}\.\d{1,3})\.0\/24$/.exec(subnet);
  const host = /^(\d{1,3}\.\d{1,3}\.\d{1,3})\.(\d{1,3})$/.exec(address);
  if (net === null || host === null) return false;
  const last = Number(host[2]);
  return host[1] === net[1] && last >= 1 && last <= 254;
}

/** Sends the step's segment from its host to the lab host `to`; throws when hping3 did not report it sent. */
export async function injectSegment(lab: DeployedLab, step: InjectStep, signal: AbortSignal): Promise<void> {
  const target = lab.addressOf(step.to);
  if (!isInLabSubnet(target, lab.network.subnet)) {
    throw new Error(
      `inject: ${step.to}'s address ${target} is outside the lab network ${lab.network.subnet}; nothing was sent (tcplab sends only inside the lab)`,
    );
  }
  if (signal.aborted) throw signal.reason;
  const result = await lab.runtime.exec(lab.host(step.host).handle, injectArgv(step, target));
  const output = `${result.stdout.toString('utf8')}\n${result.stderr}`;
  // hping3 exits 1 when nothing answered (a RST or no reply at all is normal here); more is a failure
  const sent = /\b1 packets transmitted/.exec(output) !== null;
  if (result.exitCode > 1 || !sent) {
    throw new Error(
      `${step.host}: hping3 did not send the injected segment (exit ${result.exitCode}): ${output.trim().split('\n').slice(-3).join(' | ')}; ` +
        'remedy: check that the lab image has hping3 (tcplab image build)',
    );
  }
}
