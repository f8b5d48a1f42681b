// Shared helpers for the corpus tests: paths and the tshark expectations (see scripts/make-corpus-expectations.mjs).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const corpusDir = join(dirname(fileURLToPath(import.meta.url)), '../../fixtures/corpus');
export const observeFixtureDir = join(dirname(fileURLToPath(import.meta.url)), '../../fixtures/observe');
export const tcpdumpOutDir = join(corpusDir, 'tcpdump-out');

export type ExpectedSegment = [
  frame: number,
  stream: number,
  flags: number,
  seq: number,
  ack: number,
  len: number,
  src: string,
  srcPort: number,
  dst: string,
  dstPort: number,
  retransmission: number,
];

export interface ExpectedStream {
  stream: number;
  a: string;
  b: string;
  packets: number;
  syn: number;
  synAck: number;
  fin: number;
  rst: number;
  synRetransmissions: number;
  retransmissions: number;
  bytesAtoB: number;
  bytesBtoA: number;
}

export interface CorpusExpectation {
  file: string;
  frames: number;
  tcpSegments: number;
  streams: ExpectedStream[];
  segments: ExpectedSegment[];
}

/** Names of every capture in the corpus fixture folder. */
export function listCorpusCaptures(): string[] {
  return readdirSync(corpusDir)
    .filter((f) => /\.(pcap|pcapng)$/.test(f))
    .sort();
}

/** Loads tshark's expectations for one capture. */
export function loadExpectation(name: string): CorpusExpectation {
  return JSON.parse(readFileSync(join(corpusDir, 'expected', `${name}.json`), 'utf8')) as CorpusExpectation;
}

/** Reads one capture's bytes. */
export function readCapture(name: string): Buffer {
  return readFileSync(join(corpusDir, name));
}
