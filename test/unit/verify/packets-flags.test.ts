import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunRecord } from '../../../src/analysis/run-record.js';
import type { Expectation } from '../../../src/lab/model.js';
import { loadLabText } from '../../../src/lab/load-lab.js';
import { TcpFlag } from '../../../src/observe/packet.js';
import { checkExpectations } from '../../../src/verify/check-expectations.js';
import { loadRunRecord } from '../../../src/run/load-run.js';
import { REPO_ROOT } from '../../helpers/run-cli.js';

// `flags` keeps tcpdump's exact notation; `R*` says "any segment with RST set"; an exact claim shows its near misses.
async function checkOn(fixture: string, expectation: Expectation) {
  const run = await loadRunRecord(join(REPO_ROOT, 'test/fixtures/runs', fixture));
  const withOne: RunRecord = { ...run, lab: { ...run.lab, expectations: [expectation] } };
  return { check: checkExpectations(withOne)[0]!, run };
}

describe('packets: exact flags, "at least" flags (R*), and near misses', () => {
  it('flags "R" with count 0 still passes on a capture holding only an [R.], but observed names the [R.] and its frame', async () => {
    const { check, run } = await checkOn('refused', { kind: 'packets', from: 'server', to: 'client', flags: 'R', count: 0 });
    const server = run.hosts.find((h) => h.name === 'server')!;
    const resets = server.segments.filter((s) => s.src === server.address && (s.flags & TcpFlag.RST) !== 0);
    expect(resets.length).toBeGreaterThan(0);
    expect(resets.every((s) => s.flags === (TcpFlag.RST | TcpFlag.ACK))).toBe(true);
    expect(check).toMatchObject({ status: 'pass', observed: `0 [R]; ${resets.length} [R.] ${resets.length === 1 ? 'at' : 'first at'} #${resets[0]!.frame}` });
    expect(check.evidence.at(-1)).toMatch(
      /not counted \(flags differ from exactly \[R\]\): server capture #\d+ .* \[R\.\] seq \d+; write "R\*" to count every segment with R set/,
    );
  });

  it('flags "R*" with count 0 FAILs on the same capture: no reset was sent is false', async () => {
    const { check } = await checkOn('refused', { kind: 'packets', from: 'server', to: 'client', flags: 'R*', count: 0 });
    expect(check).toMatchObject({ status: 'fail', name: 'segments with R set (any other flags) server → client', expected: 'exactly 0' });
    expect(Number(check.observed)).toBeGreaterThan(0);
    expect(check.evidence[0]).toMatch(/\[R\.\] seq/);
  });

  it('"S*" counts the SYN and the SYN-ACK alike; exact "S" does not count the SYN-ACK', async () => {
    expect((await checkOn('handshake', { kind: 'packets', from: 'server', to: 'client', flags: 'S*', count: 1 })).check.status).toBe('pass');
    expect((await checkOn('handshake', { kind: 'packets', from: 'server', to: 'client', flags: 'S', min: 1 })).check).toMatchObject({
      status: 'fail',
      observed: expect.stringMatching(/^0 \[S\]; 1 \[S\.\] at #\d+$/),
    });
  });

  it('the lab loader takes "R*", refuses a * elsewhere or alone, with the fix named', () => {
    const lab = (flags: string): string =>
      'title: t\ndescription: d\nhosts: {a: {}, b: {}}\nsteps:\n  - listen: {host: b, port: 80}\n' +
      `expect:\n  - packets: {from: a, to: b, flags: "${flags}", count: 0}\n`;
    expect(() => loadLabText(lab('R*'), 'x.yaml')).not.toThrow();
    expect(() => loadLabText(lab('*R'), 'x.yaml')).toThrow(/invalid flag letter "\*" in "\*R".*\* only at the end/);
    expect(() => loadLabText(lab('*'), 'x.yaml')).toThrow(/would match every segment; name the flags that must be set before the \*/);
    expect(() => loadLabText(lab('.R*'), 'x.yaml')).toThrow(/not in tcpdump order .* write "R\.\*"/);
  });
});
