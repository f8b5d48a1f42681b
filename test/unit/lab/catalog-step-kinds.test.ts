import { describe, expect, it } from 'vitest';
import { loadLabText } from '../../../src/lab/load-lab.js';

const head = 'title: t\ndescription: d\nhosts: { a: {}, b: {} }\n';

describe('step kinds of the catalog labs', () => {
  it('close with on_fin becomes a close-on-fin step; plain close stays close', () => {
    const lab = loadLabText(
      `${head}steps:\n  - listen: { host: b, port: 80 }\n  - connect: { host: a, to: b, port: 80, as: c }\n  - close: { host: b, conn: accepted-1, on_fin: true }\n  - close: { host: a, conn: c }\n`,
      '/labs/x.yaml',
    );
    expect(lab.steps[2]).toEqual({ kind: 'close-on-fin', host: 'b', conn: 'accepted-1' });
    expect(lab.steps[3]).toEqual({ kind: 'close', host: 'a', conn: 'c' });
  });

  it('hold, release and flood map to the model; flood defaults to one SYN per source', () => {
    const lab = loadLabText(
      `${head}steps:\n  - hold: { host: a }\n  - release: { host: a }\n  - flood: { host: a, to: b, port: 8888, sources: 20 }\n`,
      '/labs/x.yaml',
    );
    expect(lab.steps).toEqual([
      { kind: 'hold', host: 'a' },
      { kind: 'release', host: 'a' },
      { kind: 'flood', host: 'a', to: 'b', port: 8888, sources: 20, countPerSource: 1 },
    ]);
  });

  it('rejects a flood with too many sources or an unknown target, and a hold on an unknown host', () => {
    expect(() => loadLabText(`${head}steps:\n  - flood: { host: a, to: b, port: 8888, sources: 500 }\n`, '/labs/x.yaml')).toThrow(/sources/);
    expect(() => loadLabText(`${head}steps:\n  - flood: { host: a, to: c, port: 8888, sources: 5 }\n`, '/labs/x.yaml')).toThrow(/unknown host "c"/);
    expect(() => loadLabText(`${head}steps:\n  - hold: { host: z }\n`, '/labs/x.yaml')).toThrow(/unknown host "z"/);
  });

  it('a timer expectation takes a state and durations (within defaults to 1 s)', () => {
    const lab = loadLabText(`${head}steps: []\nexpect:\n  - timer: { host: a, state: TIME-WAIT, port: 80, about: 60s }\n`, '/labs/x.yaml');
    expect(lab.expectations[0]).toEqual({ kind: 'timer', host: 'a', state: 'TIME_WAIT', port: 80, aboutMs: 60_000, withinMs: 1_000 });
    expect(() => loadLabText(`${head}steps: []\nexpect:\n  - timer: { host: a, state: NOPE, about: 60s }\n`, '/labs/x.yaml')).toThrow(/unknown TCP state/);
  });
});
