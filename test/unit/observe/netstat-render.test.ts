import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderNetstatTano } from '../../../src/observe/netstat-render.js';
import { parseNetstatTan } from '../../../src/observe/netstat-tan.js';
import { parseProcNetTcp } from '../../../src/observe/proc-net-tcp.js';

// Recorded in the lab image (Debian 12, net-tools 2.10), one right after the other: /proc/net/tcp,
// /proc/net/tcp6, then `netstat -tano`. A SYN_SENT retransmitting, a listener and two TIME_WAITs.
const fixture = (name: string): string => readFileSync(new URL(`../../fixtures/observe/netstat-render/${name}`, import.meta.url), 'utf8');
const rows = () => [...parseProcNetTcp(fixture('tcp'), 4), ...parseProcNetTcp(fixture('tcp6'), 6)];

describe('renderNetstatTano', () => {
  it("renders /proc/net/tcp{,6} rows as net-tools' netstat -tano printed them", () => {
    // netstat read the table a tick later than cat: the second TIME_WAIT's timer went 58.48 → 58.47.
    const netstat = fixture('netstat').replace(/(33916 +TIME_WAIT +timewait \()58\.47/, '$158.48');
    expect(renderNetstatTano(rows())).toBe(netstat);
  });

  it('what it renders reads back through the netstat parser with the same states, queues and timers', () => {
    const parsed = parseNetstatTan(renderNetstatTano(rows()));
    expect(parsed.skippedLines).toBe(3); // the title, the header and the final empty line
    expect(parsed.rows.map((r) => [r.family, r.state, r.sendQ, r.timer?.kind, r.timer?.remainingMs, r.timer?.retransmits])).toEqual([
      [4, 'SYN_SENT', 1, 'on', 500, 1],
      [6, 'LISTEN', 0, 'off', 0, 0],
      [6, 'TIME_WAIT', 0, 'timewait', 58_470, 0],
      [6, 'TIME_WAIT', 0, 'timewait', 58_480, 0],
    ]);
  });
});
