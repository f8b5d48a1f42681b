import { describe, expect, it } from 'vitest';
import { parseRule } from '../../../src/faults/iptables-rule.js';
import { TcpFlag } from '../../../src/observe/packet.js';
import { encodeTcpFrame, joinPcap, pcapFileHeader } from '../../../src/observe/pcap-writer.js';
import { LiveFeed } from '../../../src/run/live-feed.js';
import type { RunObserver } from '../../../src/run/run-observer.js';
import type { StepContext } from '../../../src/run/step-runner.js';

/** The live view's segment notes: a rule that drops what it matches is named; one with hidden state is a maybe. */
const ADDRESSES = { server: '198.18.0.2', client: '198.18.0.3' };

function notesFor(ruleText: string): (string | undefined)[] {
  const notes: (string | undefined)[] = [];
  const observer = { segment: (_t: number, _from: string, _to: string, _s: unknown, note?: string) => notes.push(note) } as unknown as RunObserver;
  const feed = new LiveFeed(observer, ['server', 'client']);
  const hosts = new Map(Object.entries(ADDRESSES).map(([name, address]) => [name, { name, address }]));
  const ctx = { lab: { hosts }, rules: new Map([['server:r', { host: 'server', rule: parseRule(ruleText, ADDRESSES) }]]) } as unknown as StepContext;
  feed.start(ctx, 1_000_000);
  const syn = encodeTcpFrame({
    src: ADDRESSES.client,
    dst: ADDRESSES.server,
    srcPort: 40000,
    dstPort: 8080,
    seq: 1,
    ack: 0,
    flags: TcpFlag.SYN,
    window: 64240,
  });
  feed.pcapChunk(
    'client',
    joinPcap({ header: pcapFileHeader(), littleEndian: true, nanosecond: false }, [{ timeUs: 1_500_000, originalLength: syn.length, frame: syn }]),
  );
  feed.flush();
  return notes;
}

describe('live feed: the rule each segment meets', () => {
  it('names the rule that drops a segment it matches', () => {
    expect(notesFor('-I INPUT -s client -p tcp --syn -j DROP')).toEqual(['dropped by rule r on server']);
  });

  it('a rule with -m limit or -m statistic drops only some of what it matches: a maybe, decided by its counter', () => {
    expect(notesFor('-I INPUT -s client -p tcp --syn -m statistic --mode nth --every 2 -j DROP')).toEqual([
      'maybe dropped by rule r on server (-m statistic: its counter decides)',
    ]);
    expect(notesFor('-I INPUT -p tcp -m limit --limit 1/s -j REJECT')).toEqual(['maybe rejected by rule r on server (-m limit: its counter decides)']);
  });

  it('no note for a segment no rule matches', () => {
    expect(notesFor('-I INPUT -s client -p tcp --dport 9999 -j DROP')).toEqual([undefined]);
  });
});
