// Every link type and encapsulation of issue 11 on captures made by scripts/make-encap-captures.mjs
// (committed in test/fixtures/encap/): one complete connection each, named with what it came through,
// and — where tshark is installed — the same TCP frames and streams as tshark finds.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeCaptureBuffer } from '../../../src/observe/capture-decoder.js';
import { skippedList } from '../../../src/observe/frame-decoder.js';
import { analyzeCapture } from '../../../src/verify/connections.js';
import { REPO_ROOT, runCli } from '../../helpers/run-cli.js';

const ENCAP_DIR = join(REPO_ROOT, 'test/fixtures/encap');
const OUTER = '192.0.2.1<>192.0.2.2';

/** What each capture's one connection must be named (undefined: no VLAN/tunnel to name). */
const EXPECTED_VIA: Record<string, string | undefined> = {
  '6in4.pcap': `6in4 ${OUTER}`,
  'c-hdlc.pcap': undefined,
  'erspan-i.pcap': `gre ${OUTER} / erspan I`,
  'erspan-ii.pcap': `gre ${OUTER} / erspan II session 7`,
  'erspan-iii.pcap': `gre ${OUTER} / erspan III session 9`,
  'geneve.pcap': `geneve vni 77 ${OUTER}`,
  'gre-aruba.pcap': `gre ${OUTER}`,
  'gre-ipv4.pcap': `gre ${OUTER}`,
  'gre-over-ipv6.pcap': 'gre 2001:db8::a<>2001:db8::b',
  'gre-pptp.pcap': `gre ${OUTER}`,
  'gre-teb.pcap': `gre ${OUTER}`,
  'ieee802-11.pcap': undefined,
  'ipip.pcap': `ipip ${OUTER}`,
  'mpls.pcap': 'mpls',
  'nflog.pcap': undefined,
  'ppp.pcap': undefined,
  'pppoe-qinq.pcap': 'vlan 100.200 / pppoe session 0x0011',
  'qinq-4-deep.pcap': 'vlan 10.20.30.40',
  'vxlan.pcap': `vxlan vni 4242 ${OUTER}`,
};

const hasTshark = spawnSync('tshark', ['--version']).status === 0;

/** tshark's TCP frames as "frame stream", the reference this decoder is compared with. */
function tsharkTcpFrames(file: string): string[] {
  const args = ['-r', file, '-Y', 'tcp', '-T', 'fields', '-e', 'frame.number', '-e', 'tcp.stream'];
  const out = execFileSync('tshark', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.replace('\t', ' '));
}

describe('encapsulation captures', () => {
  it('the committed captures are exactly what the generator writes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tcplab-encap-'));
    execFileSync('node', [join(REPO_ROOT, 'scripts/make-encap-captures.mjs'), dir]);
    const names = readdirSync(dir).sort();
    expect(names).toEqual(
      readdirSync(ENCAP_DIR)
        .filter((n) => n.endsWith('.pcap'))
        .sort(),
    );
    for (const name of names) expect(readFileSync(join(dir, name)).equals(readFileSync(join(ENCAP_DIR, name))), name).toBe(true);
  });

  for (const [name, via] of Object.entries(EXPECTED_VIA)) {
    it(`${name}: one complete connection${via ? ` via ${via}` : ''}`, async () => {
      const file = join(ENCAP_DIR, name);
      const { segments, stats } = decodeCaptureBuffer(readFileSync(file));
      expect(segments).toHaveLength(11);
      expect(skippedList(stats)).toEqual([]);
      const { connections } = await analyzeCapture(file);
      expect(connections).toHaveLength(1);
      const c = connections[0]!;
      expect(c.via).toBe(via);
      expect(c.a).toMatch(/^(10\.1\.0\.1|\[2001:db8:1::1\]):40000$/);
      expect(c.counts).toMatchObject({ syn: 1, synAck: 1, fin: 2, rst: 0, data: 2 });
      expect([c.packetsAtoB, c.packetsBtoA, c.bytesAtoB, c.bytesBtoA]).toEqual([6, 5, 18, 24]);
      expect(c.closedBy).toBe('fin');
      if (hasTshark) expect(tsharkTcpFrames(file)).toEqual(segments.map((s) => `${s.frame} 0`));
    });
  }

  it('one connection mirrored on VLANs 10, 20, 30 is three connections (tshark merges them into one stream)', async () => {
    const file = join(ENCAP_DIR, 'vlan-mirror-3.pcap');
    const { connections } = await analyzeCapture(file);
    expect(connections.map((c) => [c.via, c.packets, c.synRetransmissions.count])).toEqual([
      ['vlan 10', 11, 0],
      ['vlan 20', 11, 0],
      ['vlan 30', 11, 0],
    ]);
    if (hasTshark) expect(new Set(tsharkTcpFrames(file).map((l) => l.split(' ')[1]))).toEqual(new Set(['0']));
  });

  it('a routed capture whose directions use two VLANs (or one tagged, one not) stays one connection, named with both', async () => {
    const ldap = await analyzeCapture(join(REPO_ROOT, 'test/fixtures/corpus/zeek__ldap__modify-request.pcapng'));
    expect(ldap.connections.map((c) => [c.via, c.packets])).toEqual([['vlan 81 (client to server), vlan 80 (server to client)', 17]]);
    const suricata = await analyzeCapture(join(REPO_ROOT, 'test/fixtures/corpus/suricata__bug-4376__syn_retransmit_with_ts.pcap'));
    expect(suricata.connections.map((c) => [c.via, c.packets])).toEqual([['vlan 3136 (client to server), untagged (server to client)', 254]]);
  });

  it('an unknown link type: no TCP, every frame skipped and named; the CLI exits 5 and says so', async () => {
    const file = join(ENCAP_DIR, 'unknown-link-type.pcap');
    const { stats } = decodeCaptureBuffer(readFileSync(file));
    expect(skippedList(stats)).toEqual([{ reason: 'link type 147 (unknown) not decoded', frames: 11 }]);
    const result = await runCli(['verify', file, '--json']);
    expect(result.exitCode).toBe(5);
    expect(JSON.parse(result.stdout)).toMatchObject({ connections: [], frames: 11, skipped: [{ reason: 'link type 147 (unknown) not decoded', frames: 11 }] });
    expect(result.stderr).toContain('skipped 11 frames: link type 147 (unknown) not decoded');
    const ok = await runCli(['verify', join(ENCAP_DIR, 'vxlan.pcap')]);
    expect(ok.exitCode).toBe(0);
    expect(ok.stdout).toContain('via vxlan vni 4242 192.0.2.1<>192.0.2.2');
  });

  it('an encapsulation that is not understood is counted under its reason, never dropped silently', () => {
    // Change GRE's protocol (0x0800 at the GRE header's bytes 2–3) of every frame to 0x1234.
    const bytes = Buffer.from(readFileSync(join(ENCAP_DIR, 'gre-ipv4.pcap')));
    let pos = 24;
    while (pos < bytes.length) {
      const caplen = bytes.readUInt32LE(pos + 8);
      bytes.writeUInt16BE(0x1234, pos + 16 + 14 + 20 + 2);
      pos += 16 + caplen;
    }
    const { segments, stats } = decodeCaptureBuffer(bytes);
    expect(segments).toHaveLength(0);
    expect(skippedList(stats)).toEqual([{ reason: 'ethertype 0x1234 not decoded', frames: 11 }]);
  });

  it('a protected 802.11 frame and a PPP compressed datagram are skipped with their reasons', () => {
    const wlan = Buffer.from(readFileSync(join(ENCAP_DIR, 'ieee802-11.pcap')));
    wlan.writeUInt8(wlan.readUInt8(24 + 16 + 1) | 0x40, 24 + 16 + 1); // frame 1: set the protected bit
    expect(skippedList(decodeCaptureBuffer(wlan).stats)).toEqual([{ reason: 'encrypted 802.11 frame (protected bit) not decoded', frames: 1 }]);
    const ppp = Buffer.from(readFileSync(join(ENCAP_DIR, 'ppp.pcap')));
    ppp.writeUInt16BE(0x00fd, 24 + 16 + 2);
    expect(skippedList(decodeCaptureBuffer(ppp).stats)).toEqual([{ reason: 'PPP compressed datagram (CCP) not decoded', frames: 1 }]);
  });
});

describe('broken encapsulations never throw or loop', () => {
  it('500 random byte flips in every encapsulation capture: decoded or counted, never an exception', () => {
    let seed = 12345;
    const random = (): number => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed / 4294967296;
    };
    for (const name of readdirSync(ENCAP_DIR).filter((n) => n.endsWith('.pcap'))) {
      const original = readFileSync(join(ENCAP_DIR, name));
      for (let i = 0; i < 500; i++) {
        const buf = Buffer.from(original);
        // Flip bytes after the 24-byte file header and the first record header, where the encapsulations are.
        for (let f = 0; f < 3; f++) buf[40 + Math.floor(random() * (buf.length - 40))] = Math.floor(random() * 256);
        try {
          const { stats } = decodeCaptureBuffer(buf);
          const accounted = stats.tcpSegments + stats.skippedNonTcp + [...stats.skipped.values()].reduce((x, y) => x + y, 0);
          expect(accounted, `${name} flip ${i}: every frame is TCP, not TCP, or skipped with a reason`).toBe(stats.frames);
        } catch (err) {
          expect((err as Error).name, `${name} flip ${i}`).toBe('CaptureFormatError');
        }
      }
    }
  });
});
