import { describe, expect, it } from 'vitest';
import { FLOOD_SCRIPT, pickSpoofSources } from '../../../src/run/syn-flood.js';

describe('pickSpoofSources', () => {
  it('takes unused addresses of the lab /24 from .254 down, skipping the lab hosts', () => {
    const sources = pickSpoofSources('198.18.7.0/24', ['198.18.7.2', '198.18.7.253'], 3);
    expect(sources).toEqual(['198.18.7.254', '198.18.7.252', '198.18.7.251']);
  });

  it('never returns the network, gateway, broadcast or a host address, and never leaves the /24', () => {
    const hosts = ['198.18.7.2', '198.18.7.3', '198.18.7.4'];
    const sources = pickSpoofSources('198.18.7.0/24', hosts, 250);
    expect(sources).toHaveLength(250);
    for (const forbidden of ['198.18.7.0', '198.18.7.1', '198.18.7.255', ...hosts]) expect(sources).not.toContain(forbidden);
    expect(sources.every((s) => /^198\.18\.7\.(\d+)$/.test(s))).toBe(true);
    expect(new Set(sources).size).toBe(250);
  });

  it('refuses to pick more sources than the /24 has free, and refuses other prefix lengths', () => {
    expect(() => pickSpoofSources('198.18.7.0/24', ['198.18.7.2'], 253)).toThrow(/only 252 unused addresses; remedy: lower sources to 252/);
    expect(() => pickSpoofSources('10.0.0.0/16', [], 1)).toThrow(/must be a \/24/);
  });
});

describe('FLOOD_SCRIPT', () => {
  it('forges only the sources it is given (-a), never random ones, and starts them all at once', () => {
    expect(FLOOD_SCRIPT).toContain('-a "$source"');
    expect(FLOOD_SCRIPT).not.toMatch(/rand-source|rand-dest/);
    expect(FLOOD_SCRIPT).toMatch(/for source; do hping3 .*& pids=/);
  });
});
