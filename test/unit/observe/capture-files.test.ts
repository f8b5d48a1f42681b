// Files as users bring them: gzip and zstd compressed (test/fixtures/compressed: `gzip -9 -n` and
// `zstd -19` of two corpus captures), cut off mid-record, or with a corrupt record length. The decoder
// keeps every complete packet and names the offset of the problem: the record's own offset.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeCaptureBuffer, readCaptureFile } from '../../../src/observe/capture-decoder.js';
import type { TcpSegment } from '../../../src/observe/packet.js';
import { REPO_ROOT, runCli } from '../../helpers/run-cli.js';
import { readCapture } from './corpus-helpers.js';

const COMPRESSED = join(REPO_ROOT, 'test/fixtures/compressed');
const scratch = mkdtempSync(join(tmpdir(), 'tcplab-files-'));
const hasTshark = spawnSync('tshark', ['--version']).status === 0;

async function read(path: string): Promise<{ segments: TcpSegment[]; result: Awaited<ReturnType<typeof readCaptureFile>> }> {
  const segments: TcpSegment[] = [];
  const result = await readCaptureFile(path, (s) => segments.push(s));
  return { segments, result };
}

/** Byte offsets where each pcap record starts (24-byte header, 16-byte record headers, little-endian). */
function recordOffsets(buf: Buffer): number[] {
  const offsets: number[] = [];
  for (let pos = 24; pos + 16 <= buf.length; pos += 16 + buf.readUInt32LE(pos + 8)) offsets.push(pos);
  return offsets;
}

describe('compressed captures', () => {
  it('gzip and zstd captures decode exactly like the plain files', async () => {
    for (const [compressed, plain, compression] of [
      ['zeek__web.pcap.gz', 'zeek__web.pcap', 'gzip'],
      ['tcpdump__of13_ericsson.pcapng.zst', 'tcpdump__of13_ericsson.pcapng', 'zstd'],
    ] as const) {
      const { segments, result } = await read(join(COMPRESSED, compressed));
      expect(result.compression).toBe(compression);
      expect(result.problem).toBeUndefined();
      expect(segments).toEqual(decodeCaptureBuffer(readCapture(plain)).segments);
    }
  });

  it('`tcplab verify x.pcap.gz` works and says it was compressed', async () => {
    const result = await runCli(['verify', join(COMPRESSED, 'zeek__web.pcap.gz'), '--json']);
    expect(result.exitCode).toBe(0);
    const json = JSON.parse(result.stdout) as { connections: unknown[]; compression: string; warnings: unknown[] };
    expect([json.connections.length, json.compression, json.warnings]).toEqual([2, 'gzip', []]);
  });
});

describe('cut-off and corrupt captures', () => {
  const web = readCapture('zeek__web.pcap');
  const offsets = recordOffsets(web);

  it('a capture cut at any byte yields every complete packet, then names the offset of the cut record', async () => {
    for (let cut = 24; cut < web.length; cut += 37) {
      const file = join(scratch, 'cut.pcap');
      writeFileSync(file, web.subarray(0, cut));
      const { segments, result } = await read(file);
      const complete = offsets.filter((o) => o + 16 + web.readUInt32LE(o + 8) <= cut);
      expect(segments.map((s) => s.frame)).toEqual(complete.map((_, i) => i + 1));
      const partial = offsets[complete.length];
      if (partial === undefined || partial >= cut) {
        expect(result.problem).toBeUndefined();
      } else {
        expect(result.problem).toMatchObject({ kind: 'truncated', offset: partial, framesRead: complete.length });
      }
    }
  });

  it('tshark agrees on the packets of a cut-off capture', async () => {
    if (!hasTshark) return;
    const file = join(scratch, 'cut-tshark.pcap');
    writeFileSync(file, web.subarray(0, 3000));
    const tshark = spawnSync('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8' });
    const { segments } = await read(file);
    expect(segments.map((s) => `${s.frame}`)).toEqual(tshark.stdout.trim().split('\n'));
  });

  it('a gzip stream cut off: the complete packets, and a truncated warning with the decompressed offset', async () => {
    const gz = gzipSync(web);
    const file = join(scratch, 'cut.pcap.gz');
    writeFileSync(file, gz.subarray(0, Math.floor(gz.length / 2)));
    const { segments, result } = await read(file);
    expect(segments.length).toBeGreaterThan(0);
    expect(result.problem).toMatchObject({ kind: 'truncated', offset: offsets[segments.length] });
    expect(result.problem!.message).toMatch(/gzip stream ends early.*gzip-decompressed capture/);
  });

  it('a corrupt pcap record length is reported at that record, not a megabyte later', async () => {
    const corrupt = Buffer.from(web);
    corrupt.writeUInt32LE(1_000_000, offsets[4]! + 8);
    const file = join(scratch, 'corrupt.pcap');
    writeFileSync(file, corrupt);
    const { segments, result } = await read(file);
    expect(segments).toHaveLength(4);
    expect(result.problem).toMatchObject({ kind: 'corrupt', offset: offsets[4] });
    expect(result.problem!.message).toContain(`record 5 (at byte ${offsets[4]}) says it holds 1000000 bytes`);
  });

  it('a corrupt pcapng packet block length is reported at that block', async () => {
    const ng = Buffer.from(readCapture('tcpdump__of13_ericsson.pcapng'));
    const blocks: Array<{ offset: number; type: number }> = [];
    for (let pos = 0; pos + 12 <= ng.length; pos += ng.readUInt32LE(pos + 4)) blocks.push({ offset: pos, type: ng.readUInt32LE(pos) });
    const epbs = blocks.filter((b) => b.type === 6);
    const victim = epbs[10]!;
    ng.writeUInt32LE(ng.readUInt32LE(victim.offset + 4) + 400_000, victim.offset + 4);
    const file = join(scratch, 'corrupt.pcapng');
    writeFileSync(file, ng);
    const { result } = await read(file);
    expect(result.problem).toMatchObject({ kind: 'corrupt', offset: victim.offset, framesRead: 10 });
  });

  it('the CLI: a cut-off capture prints its connections, warns on stderr and in the JSON, exits 0; a corrupt one exits 2', async () => {
    const cut = join(scratch, 'cli-cut.pcap');
    writeFileSync(cut, web.subarray(0, 3000));
    const truncated = await runCli(['verify', cut, '--json']);
    expect(truncated.exitCode).toBe(0);
    const json = JSON.parse(truncated.stdout) as { frames: number; warnings: Array<{ kind: string; offset: number }> };
    expect(json.frames).toBe(7);
    expect(json.warnings).toEqual([expect.objectContaining({ kind: 'truncated', offset: offsets[7] })]);
    expect(truncated.stderr).toContain(`warning: capture format error at byte ${offsets[7]} (after 7 packets)`);
    const corrupt = Buffer.from(web);
    corrupt.writeUInt32LE(1_000_000, offsets[4]! + 8);
    const bad = join(scratch, 'cli-corrupt.pcap');
    writeFileSync(bad, corrupt);
    const broken = await runCli(['verify', bad]);
    expect(broken.exitCode).toBe(2);
    expect(broken.stdout).toContain('4 TCP segments');
    expect(broken.stderr).not.toMatch(/\n\s+at /);
    const garbage = join(scratch, 'garbage.pcap');
    writeFileSync(garbage, 'not a capture at all');
    const refused = await runCli(['verify', garbage]);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(/unknown magic number .* nothing could be read/);
  });
});
