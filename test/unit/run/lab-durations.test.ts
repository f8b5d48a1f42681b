import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { longestFirst, readLabDurations, recordLabDurations } from '../../../src/run/lab-durations.js';

const labs = ['refused', 'time-wait-full', 'syn-sent', 'new-lab'].map((name) => ({ name }));

describe('longest labs first', () => {
  it('starts labs never seen first, then the longest recorded', () => {
    const order = longestFirst(labs, { refused: 2_000, 'time-wait-full': 64_000, 'syn-sent': 18_000 });
    expect(order.map((l) => l.name)).toEqual(['new-lab', 'time-wait-full', 'syn-sent', 'refused']);
  });

  it('keeps the given order when nothing is recorded', () => {
    expect(longestFirst(labs, {}).map((l) => l.name)).toEqual(labs.map((l) => l.name));
  });

  it('records durations in the runs folder, merging with what was there; a damaged file counts as none', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tcplab-durations-'));
    expect(readLabDurations(dir)).toEqual({});
    recordLabDurations(dir, { refused: 2_000 });
    recordLabDurations(dir, { 'syn-sent': 18_000 });
    expect(readLabDurations(dir)).toEqual({ refused: 2_000, 'syn-sent': 18_000 });
    writeFileSync(join(dir, '.lab-durations.json'), '{"refused": "slow", "x": ');
    expect(readLabDurations(dir)).toEqual({});
  });
});
