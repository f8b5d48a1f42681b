import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { renderJUnit } from '../../../src/report/junit-report.js';
import { renderVerdict } from '../../../src/report/terminal-report.js';
import type { Verdict } from '../../../src/verify/verdict.js';

const passing: Verdict = {
  lab: 'handshake',
  verdict: 'pass',
  runDir: '/runs/handshake-1',
  durationMs: 5146,
  checks: [{ name: 'three-way handshake', status: 'pass', expected: 'S, S., .', observed: 'S, S., .', evidence: [] }],
};
const tricky = `name <with> & "quotes" and 'apostrophes'`;
const failing: Verdict = {
  lab: 'syn-sent',
  verdict: 'fail',
  runDir: '/runs/syn-sent-1',
  durationMs: 19611,
  checks: [
    { name: 'client passes through SYN_SENT → CLOSED', status: 'pass', expected: 'SYN_SENT → CLOSED', observed: 'SYN_SENT → CLOSED', evidence: [] },
    { name: tricky, status: 'fail', expected: 'at least 2 <S>', observed: '1 & only 1', evidence: ['client capture #4 at +0.390 s'] },
    { name: 'connect() ends in ETIMEDOUT', status: 'fail', expected: 'ETIMEDOUT', observed: 'ECONNREFUSED', evidence: [], reference: 'tcp_write_timeout()' },
  ],
};

function parse(xml: string): Record<string, unknown> {
  return new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (name) => name === 'testcase' || name === 'failure' }).parse(xml) as Record<
    string,
    unknown
  >;
}

describe('renderJUnit', () => {
  const xml = renderJUnit([passing, failing]);
  const doc = parse(xml) as {
    testsuites: {
      tests: string;
      failures: string;
      time: string;
      testsuite: { name: string; tests: string; failures: string; errors: string; time: string; testcase: Record<string, unknown>[] };
    };
  };
  const suite = doc.testsuites.testsuite;

  it('is well-formed XML with correct counts and times', () => {
    expect(XMLValidator.validate(xml)).toBe(true);
    expect(suite.name).toBe('tcplab');
    expect([suite.tests, suite.failures, suite.errors]).toEqual(['2', '1', '0']);
    expect([doc.testsuites.tests, doc.testsuites.failures]).toEqual(['2', '1']);
    expect(suite.time).toBe('24.757');
    expect(suite.testcase.map((c) => [c.classname, c.name, c.time])).toEqual([
      ['tcplab.handshake', 'handshake', '5.146'],
      ['tcplab.syn-sent', 'syn-sent', '19.611'],
    ]);
  });

  it('gives a failed lab exactly one failure listing every failed check with expected vs observed', () => {
    expect(suite.testcase[0]?.failure).toBeUndefined();
    const failures = suite.testcase[1]?.failure as { message: string; '#text': string }[];
    expect(failures).toHaveLength(1);
    expect(failures[0]?.message).toBe(`2 of 3 checks failed: ${tricky}; connect() ends in ETIMEDOUT`);
    const text = failures[0]?.['#text'] ?? '';
    expect(text).toContain(`✗ ${tricky}`);
    expect(text).toContain('expected: at least 2 <S>');
    expect(text).toContain('observed: 1 & only 1');
    expect(text).toContain('observed: ECONNREFUSED');
    expect(text).toContain('see: tcp_write_timeout()');
    expect(text).not.toContain('SYN_SENT → CLOSED\n');
  });

  it('round-trips names with XML special characters and strips characters XML forbids', () => {
    expect(xml).not.toContain(`"quotes"`);
    const weird = renderJUnit([{ ...failing, lab: `a<b>&"c'\u0001` }]);
    expect(XMLValidator.validate(weird)).toBe(true);
    const cases = (parse(weird) as { testsuites: { testsuite: { testcase: { name: string }[] } } }).testsuites.testsuite.testcase;
    expect(cases[0]?.name).toBe(`a<b>&"c'\ufffd`);
  });

  it('renders an empty list as a valid suite with zero tests', () => {
    const empty = renderJUnit([]);
    expect(XMLValidator.validate(empty)).toBe(true);
    expect(empty).toContain('<testsuite name="tcplab" tests="0" failures="0" errors="0" skipped="0" time="0.000">');
  });
});

describe('check sources (the lab line a check came from)', () => {
  const sourced: Verdict = {
    lab: 'syn-sent',
    verdict: 'fail',
    runDir: 'runs/syn-sent-x',
    durationMs: 1000,
    checks: [
      {
        name: 'client passes through SYN_SENT → CLOSED',
        status: 'fail',
        expected: 'SYN_SENT → CLOSED',
        observed: 'SYN_SENT',
        evidence: [],
        source: 'labs/syn-sent.yaml:42:5',
      },
      {
        name: 'client 1 ↔ 2 follows the TCP state machine',
        status: 'pass',
        expected: 'x',
        observed: 'x',
        evidence: [],
        source: 'conformance (Linux machine, src/tcp/linux-profile.ts)',
      },
    ],
  };

  it('JUnit names the failed check with its lab line, in the message and the text', () => {
    const failure = (parse(renderJUnit([sourced])) as { testsuites: { testsuite: { testcase: { failure: { message: string; '#text': string }[] }[] } } })
      .testsuites.testsuite.testcase[0]?.failure[0];
    expect(failure?.message).toBe('1 of 2 checks failed: client passes through SYN_SENT → CLOSED (labs/syn-sent.yaml:42:5)');
    expect(failure?.['#text']).toContain('  source: labs/syn-sent.yaml:42:5');
  });

  it('the terminal shows the source under a failed check only', () => {
    const text = renderVerdict(sourced, { color: false });
    expect(text).toContain('      from labs/syn-sent.yaml:42:5');
    expect(text).not.toContain('from conformance');
  });
});
