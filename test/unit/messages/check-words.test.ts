import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRunRecord } from '../../../src/run/load-run.js';
import { verifyRun } from '../../../src/verify/verify-run.js';
import { FIXTURE_RUNS } from '../verify/run-fixtures.js';

/*
 * `--lang zh` reads every check in Chinese: each check of every committed run folder has Chinese words,
 * and they hold no English sentence. English words that may stay are the code (kernel functions, sysctls,
 * tcpdump flags, syscalls, errno names), which this test tells apart by a list of the little words every
 * English sentence has and no code has.
 */
const ENGLISH = /(?<![\w`'"-])(the|of|and|in|at|is|was|were|not|no|with|from|to|every|each|after|before|its|has|never|sent|by|for|or|but)(?![\w`'"-])/i;

/** The text with what is code removed: `backticked` spans and quoted messages of the system (“read ECONNRESET (Connection reset by peer)”). */
function prose(text: string): string {
  return text.replace(/`[^`]*`/g, '').replace(/"[^"]*"|“[^”]*”/g, '');
}

describe('check words in Chinese', async () => {
  const runs = readdirSync(FIXTURE_RUNS);
  const verdicts = await Promise.all(runs.map(async (name) => verifyRun(await loadRunRecord(join(FIXTURE_RUNS, name)), name, 0)));

  it('every check of every fixture run has Chinese words', () => {
    for (const verdict of verdicts) for (const check of verdict.checks) expect(check.zh, `${verdict.lab}: ${check.name}`).toBeDefined();
  });

  it('no Chinese check line holds an English sentence', () => {
    const english: string[] = [];
    for (const verdict of verdicts) {
      for (const check of verdict.checks) {
        const zh = check.zh;
        if (zh === undefined) continue;
        for (const line of [zh.name, zh.expected, zh.observed, ...zh.evidence]) if (ENGLISH.test(prose(line))) english.push(`${verdict.lab}: ${line}`);
      }
    }
    expect([...new Set(english)].slice(0, 40)).toEqual([]);
  });

  it('the rule finds an English sentence', () => {
    expect(ENGLISH.test(prose('SYN_SENT sampled at +1.0 s'))).toBe(true);
    expect(ENGLISH.test(prose('1.0 s 时采样到 SYN_SENT（tcp_retries2=15，`net.ipv4.tcp_syn_retries`）'))).toBe(false);
  });
});
