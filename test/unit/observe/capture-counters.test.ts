import { describe, expect, it } from 'vitest';
import { parseCaptureCounters } from '../../../src/observe/capture-counters.js';

describe('parseCaptureCounters (tcpdump 4.99 on exit)', () => {
  it('reads the three counters, and the interface drops when tcpdump prints them', () => {
    const stderr =
      'tcpdump: listening on eth0, link-type EN10MB (Ethernet), snapshot length 262144 bytes\n12 packets captured\n14 packets received by filter\n2 packets dropped by kernel\n';
    expect(parseCaptureCounters(stderr)).toEqual({ captured: 12, receivedByFilter: 14, droppedByKernel: 2, droppedByInterface: 0 });
    expect(parseCaptureCounters(`${stderr}1 packet dropped by interface\n`)?.droppedByInterface).toBe(1);
    expect(parseCaptureCounters('1 packet captured\n1 packet received by filter\n0 packets dropped by kernel\n')).toEqual({
      captured: 1,
      receivedByFilter: 1,
      droppedByKernel: 0,
      droppedByInterface: 0,
    });
  });

  it('gives nothing when tcpdump printed no counters (killed, or never started)', () => {
    expect(parseCaptureCounters('tcpdump: listening on eth0\n')).toBeUndefined();
    expect(parseCaptureCounters('12 packets captured\n')).toBeUndefined();
  });
});
