import { describe, expect, it } from 'vitest';
import { CATALOGS, catalogProblems, message } from '../../../src/messages/catalog.js';

describe('message catalogs (en, zh)', () => {
  it('every key of every catalog exists in both languages, with the same placeholders', () => {
    expect(catalogProblems(CATALOGS)).toEqual([]);
  });

  it('the rule fails on a key in one language only, and on placeholders that differ', () => {
    const broken = { demo: { en: { a: 'x {n}', b: 'y' }, zh: { a: '甲' } } };
    expect(catalogProblems(broken).sort()).toEqual(['demo: "a" has different placeholders by language (en: n; zh: )', 'demo: "b" exists in en but not in zh']);
  });

  it('fills placeholders', () => {
    expect(message('zh', 'commentary.verdict', { verdict: message('zh', 'commentary.verdict.fail') })).toBe(' — 失败');
    expect(message('en', 'commentary.verdict', { verdict: 'PASS' })).toBe(' — PASS');
  });
});

describe('show --lang zh: every step and expectation of the catalog reads in Chinese', async () => {
  const { readdirSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { loadLabFile } = await import('../../../src/lab/load-lab.js');
  const { describeExpectationIn, describeStepIn } = await import('../../../src/messages/lab-words.js');
  const { describeStep } = await import('../../../src/run/step-runner.js');
  const labsDir = join(import.meta.dirname, '../../../labs');
  const labs = await Promise.all(
    readdirSync(labsDir)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => loadLabFile(join(labsDir, f))),
  );
  const cjk = /[\u4e00-\u9fff]/;

  it('each sentence has Chinese words, and the English one is what the step records say', () => {
    for (const lab of labs) {
      for (const step of lab.steps) {
        expect(describeStepIn('zh', step), `${lab.name}: ${describeStep(step)}`).toMatch(step.kind === 'rule' ? /删除规则|ip6?tables/ : cjk);
        expect(describeStepIn('en', step)).toBe(describeStep(step));
      }
      for (const expectation of lab.expectations) expect(describeExpectationIn('zh', expectation), `${lab.name}: ${expectation.kind}`).toMatch(cjk);
    }
  });
});
