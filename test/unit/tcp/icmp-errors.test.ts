import { describe, expect, it } from 'vitest';
import { icmpRevertsBackoff, icmpSocketError } from '../../../src/tcp/icmp-errors.js';
import { predictEstablishedSchedule } from '../../../src/tcp/timing-model.js';

describe('ICMP errors as TCP sees them (tcp_v4_err(), icmp_err_convert[], icmpv6_err_convert())', () => {
  it('maps destination unreachable codes to errno names; path MTU and unknown types give none', () => {
    expect(icmpSocketError(4, 3, 0)).toBe('ENETUNREACH');
    expect(icmpSocketError(4, 3, 1)).toBe('EHOSTUNREACH');
    expect(icmpSocketError(4, 3, 3)).toBe('ECONNREFUSED');
    expect(icmpSocketError(4, 3, 13)).toBe('EHOSTUNREACH');
    expect(icmpSocketError(4, 3, 4)).toBeUndefined();
    expect(icmpSocketError(4, 4, 0)).toBeUndefined(); // source quench
    expect(icmpSocketError(4, 11, 0)).toBe('EHOSTUNREACH');
    expect(icmpSocketError(6, 1, 4)).toBe('ECONNREFUSED');
    expect(icmpSocketError(6, 1, 1)).toBe('EACCES');
    expect(icmpSocketError(6, 2, 0)).toBeUndefined(); // packet too big
  });

  it('only IPv4 net and host unreachable undo a doubling (tcp_ld_RTO_revert())', () => {
    expect([0, 1, 3, 13].map((code) => icmpRevertsBackoff(4, 3, code))).toEqual([true, true, false, false]);
    expect(icmpRevertsBackoff(6, 1, 3)).toBe(false);
  });

  it('the RTO schedule: each revert keeps the next timer at the backoff before it', () => {
    const plain = predictEstablishedSchedule({ tcp_retries2: 4, hz: 250 }, 200);
    expect(plain.sends.slice(0, 5)).toEqual([0, 200, 600, 1400, 3000]);
    const reverted = predictEstablishedSchedule({ tcp_retries2: 4, hz: 250 }, 200, { revertedAfterRto: new Set([1, 2, 3]) });
    expect(reverted.sends.slice(0, 6)).toEqual([0, 200, 400, 600, 800, 1200]);
    // The give-up is a time limit (tcp_model_timeout()), so the reverted path sends more copies in the same time.
    expect(reverted.sends.length).toBeGreaterThan(plain.sends.length);
  });
});
