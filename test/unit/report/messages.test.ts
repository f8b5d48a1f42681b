import { describe, expect, it } from 'vitest';
import { CATALOGS, catalogProblems, message } from '../../../src/report/messages/catalog.js';

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
