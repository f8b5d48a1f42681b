import type { ExpectationKind } from '../lab/model.js';
import type { Lang } from '../messages/catalog.js';
import type { Text } from '../messages/text.js';

/** The outcome of one lab run or re-verification: every check with expected vs observed and its evidence. */
export interface Verdict {
  lab: string;
  verdict: 'pass' | 'fail';
  runDir: string;
  durationMs: number;
  checks: Check[];
  /** Each host of the run and where its exact socket states came from (`run --json`: labs[].hosts[]). */
  hosts?: VerdictHost[];
  /** What the reader must know about how the observations were made (e.g. no kernel trace). */
  notes?: string[];
  /**
   * The verdict's own words in Chinese (`--lang zh`), as `Check.zh` holds a check's: `zh.notes[i]` is
   * `notes[i]`. Present when `notes` is.
   */
  zh?: { notes: string[] };
}

export interface VerdictHost {
  name: string;
  address: string;
  /** Its IPv6 address, in labs that use IPv6. */
  address6?: string;
  stateSource: 'tracepoint' | 'sampled';
}

/** What produced a check: a typed id the reports match on (never the check's text). */
export type CheckOrigin =
  /** The lab's expectation number `index` (0-based) of kind `expectation`, about `host` when it names one. */
  | { readonly kind: 'expectation'; readonly index: number; readonly expectation: ExpectationKind; readonly host?: string }
  /** Conformance of one sampled socket to the Linux machine (src/verify/conformance.ts). */
  | { readonly kind: 'conformance'; readonly host: string; readonly local: string; readonly remote: string }
  /** A listener's answers to the connection attempts that reached it (src/verify/listener-checks.ts). */
  | { readonly kind: 'listener'; readonly host: string; readonly port: number }
  /** A step that failed (`index` 0-based). */
  | { readonly kind: 'step'; readonly index: number }
  /** The run was cut short before all steps ran. */
  | { readonly kind: 'steps-ran' }
  /** Two sources of the run disagree (captures, rule counters, samples, events: src/verify/consistency-checks.ts). */
  | { readonly kind: 'consistency'; readonly consistency: ConsistencyKind; readonly host?: string };

/** Which sources a consistency check compares. */
export type ConsistencyKind = 'capture-counters' | 'delivery' | 'rule-counter' | 'sample-retransmits' | 'socket-story' | 'tracepoints';

/** One typed piece of evidence: where to look in the run folder, or what the model predicted. */
export type Evidence =
  /** Frame `frame` of `host`'s capture.pcap. */
  | { readonly kind: 'segment'; readonly host: string; readonly frame: number }
  /** A /proc/net/tcp sample of `host` (µs on the capture clock). */
  | { readonly kind: 'sample'; readonly host: string; readonly timeUs: number; readonly socket: string; readonly state: string }
  /** An agent event of `host` (socket call outcome, error). */
  | { readonly kind: 'event'; readonly host: string; readonly timeUs: number; readonly event: string; readonly conn?: string }
  /** An iptables rule of the lab, on `host`. */
  | { readonly kind: 'rule'; readonly host: string; readonly rule: string }
  /** The model's prediction: `what` between `earliestUs` and `latestUs` (µs, capture clock). */
  | { readonly kind: 'prediction'; readonly what: string; readonly earliestUs: number; readonly latestUs: number }
  /** The moment (µs) where the observation of `host` departs from the model (a conformance violation). */
  | { readonly kind: 'violation'; readonly host: string; readonly timeUs: number; readonly message: string }
  /** Step `index` (0-based) of the lab, as recorded. */
  | { readonly kind: 'step'; readonly index: number; readonly startUs: number };

export interface Check {
  /** What is claimed, e.g. `client reaches SYN_SENT → CLOSED`. */
  name: string;
  status: 'pass' | 'fail';
  expected: string;
  observed: string;
  /** Where to look, for people: packet numbers (`client capture #3`), sample times, event times. */
  evidence: string[];
  /** RFC section or kernel function the expectation rests on, when there is one. */
  reference?: string;
  /**
   * Where the check came from: the lab-file position of its expectation (`labs/syn-sent.yaml:42:5`), or
   * what produced it (`conformance`, `step 3`). Set on every check verifyRun() makes.
   */
  source?: string;
  /** What produced the check, typed (reports match on this, never on the text). */
  origin?: CheckOrigin;
  /** The evidence, typed: segment, sample, event, rule and step refs, and the model's predictions. */
  refs?: Evidence[];
  /** The check's words in Chinese (`--lang zh`); name, expected, observed and evidence above are English. */
  zh?: CheckLines;
}

/** What a person reads of a check, in one language. */
export interface CheckLines {
  name: string;
  expected: string;
  observed: string;
  evidence: string[];
}

/** A check whose words are Texts (every language), as the checkers build it. */
export type CheckDraft = Omit<Check, keyof CheckLines | 'zh'> & {
  readonly name: Text;
  readonly expected: Text;
  readonly observed: Text;
  readonly evidence: readonly Text[];
};

/** The check a draft describes: English in its fields, Chinese in `zh`. */
export function textCheck(draft: CheckDraft): Check {
  const { name, status, expected, observed, evidence, ...rest } = draft;
  return {
    name: name.en,
    status,
    expected: expected.en,
    observed: observed.en,
    evidence: evidence.map((e) => e.en),
    ...rest,
    zh: { name: name.zh, expected: expected.zh, observed: observed.zh, evidence: evidence.map((e) => e.zh) },
  };
}

/** Combines checks into a verdict: pass only when there is at least one check and all pass. */
export function makeVerdict(lab: string, runDir: string, durationMs: number, checks: Check[]): Verdict {
  const verdict = checks.length > 0 && checks.every((c) => c.status === 'pass') ? 'pass' : 'fail';
  return { lab, verdict, runDir, durationMs, checks };
}

/** The segment refs of one host's frames. */
export function segmentRefs(host: string, frames: readonly number[]): Evidence[] {
  return frames.map((frame) => ({ kind: 'segment', host, frame }));
}

/** `check` with some of its words changed, in every language it has (`change` gets each language's lines). */
export function rewordCheck(check: Check, change: (lines: CheckLines, lang: Lang) => Partial<CheckLines>): Check {
  const en: CheckLines = { name: check.name, expected: check.expected, observed: check.observed, evidence: check.evidence };
  return {
    ...check,
    ...change(en, 'en'),
    ...(check.zh !== undefined && { zh: { ...check.zh, ...change(check.zh, 'zh') } }),
  };
}
