import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertNever } from '../assert-never.js';
import { REMOVED_RULE_COUNTERS_FILE, type RemovedRuleCounters } from '../analysis/run-record.js';
import { describeStepIn } from '../messages/lab-words.js';
import type { AgentEvent } from '../agent/protocol.js';
import { familyOf, labUsesIpv6, type Step, type StepKind } from '../lab/model.js';
import { parseRule, type ParsedRule } from '../faults/iptables-rule.js';
import { countOnlySpec } from '../faults/rule-matcher.js';
import { parseTcpState } from '../tcp/state.js';
import { isLabSocket, portOf } from '../analysis/socket-timeline.js';
import { formatEndpoint } from '../agent/socket-table.js';
import { abortReason } from './agent-session.js';
import type { DeployedLab } from './deployed-lab.js';
import { holdEgress, releaseEgress } from './hold-egress.js';
import { floodSyns } from './syn-flood.js';
import { toSocketOptionCalls } from './socket-option-calls.js';
import { injectSegment } from './inject-segment.js';

/** What the steps of one run share: the deployment, where waits start looking, names of things. */
export interface StepContext {
  readonly lab: DeployedLab;
  readonly signal: AbortSignal;
  /**
   * Where waits start looking, as an index into a host's agent events: under `host` the latest
   * action step on that host, under `host/conn` the latest one on that connection. A wait looks
   * back to the latest action on the host and connection it names, so another host's (or another
   * connection's) step in between does not hide a state reached before the wait began.
   */
  readonly actionStart: Map<string, number>;
  /** Per `host/conn`: the endpoints known for the connection (remote from connect, both from accepted/connected). */
  readonly connections: Map<string, { local?: string; remote: string }>;
  /** Per host: the latest connection name (the default `conn` of close/send/…). */
  readonly latestConn: Map<string, string>;
  /** Rules added so far, by `host/name`. */
  readonly rules: Map<string, { host: string; rule: ParsedRule }>;
}

type StepExecutor<K extends StepKind> = (ctx: StepContext, step: Extract<Step, { kind: K }>) => Promise<void>;

/** Executors register by step kind; the mapped type makes a missing kind a compile error. */
const EXECUTORS: { [K in StepKind]: StepExecutor<K> } = {
  listen: async (ctx, step) => {
    const agent = ctx.lab.host(step.host).agent;
    const from = agent.events.length;
    const options = toSocketOptionCalls(step.options);
    await agent.command({
      op: 'listen',
      port: step.port,
      backlog: step.backlog,
      accept: step.accept,
      ...(labUsesIpv6(ctx.lab.lab) && { dualStack: true }),
      ...(options.length > 0 && { options }),
    });
    await agent.waitFor((e) => e.type === 'listening' && e.port === step.port, 5_000, `listening on ${step.port}`, from, ctx.signal);
  },
  connect: async (ctx, step) => {
    const to = ctx.lab.addressOf(step.to, familyOf(step));
    const remote = formatEndpoint(to, step.port);
    const local = step.localPort ? formatEndpoint(ctx.lab.addressOf(step.host, familyOf(step)), step.localPort) : undefined;
    ctx.connections.set(`${step.host}/${step.conn}`, { remote, local });
    ctx.latestConn.set(step.host, step.conn);
    const options = toSocketOptionCalls(step.options);
    await ctx.lab.host(step.host).agent.command({
      op: 'connect',
      conn: step.conn,
      host: to,
      port: step.port,
      localPort: step.localPort,
      ...(options.length > 0 && { options }),
    });
  },
  setsockopt: async (ctx, step) =>
    ctx.lab.host(step.host).agent.command({ op: 'setsockopt', conn: connOf(ctx, step.host, step.conn), options: toSocketOptionCalls(step.options) }),
  pause: async (ctx, step) => ctx.lab.host(step.host).agent.command({ op: 'pause', conn: connOf(ctx, step.host, step.conn) }),
  resume: async (ctx, step) => ctx.lab.host(step.host).agent.command({ op: 'resume', conn: connOf(ctx, step.host, step.conn) }),
  accept: async (ctx, step) => ctx.lab.host(step.host).agent.command({ op: 'accept', port: step.port }),
  unlisten: async (ctx, step) => ctx.lab.host(step.host).agent.command({ op: 'unlisten', port: step.port }),
  send: async (ctx, step) => ctx.lab.host(step.host).agent.command({ op: 'send', conn: connOf(ctx, step.host, step.conn), bytes: step.bytes }),
  shutdown: async (ctx, step) => ctx.lab.host(step.host).agent.command({ op: 'shutdown', conn: connOf(ctx, step.host, step.conn) }),
  close: async (ctx, step) => ctx.lab.host(step.host).agent.command({ op: 'close', conn: connOf(ctx, step.host, step.conn) }),
  'close-on-fin': async (ctx, step) => ctx.lab.host(step.host).agent.command({ op: 'close', conn: connOf(ctx, step.host, step.conn), onFin: true }),
  abort: async (ctx, step) => ctx.lab.host(step.host).agent.command({ op: 'abort', conn: connOf(ctx, step.host, step.conn) }),
  rule: async (ctx, step) => {
    const addresses = Object.fromEntries([...ctx.lab.hosts.values()].map((h) => [h.name, ctx.lab.addressOf(h.name, familyOf(step))]));
    const rule = parseRule(step.text, addresses, { comment: `tcplab:${step.name}`, family: familyOf(step) });
    await runIptables(ctx, step.host, rule, rule.argv, `add rule "${step.name}"`);
    ctx.rules.set(`${step.host}/${step.name}`, { host: step.host, rule });
  },
  unrule: async (ctx, step) => {
    const added = ctx.rules.get(`${step.host}/${step.name}`);
    if (!added) throw new Error(`${step.host}: no rule named "${step.name}" was added`);
    const host = ctx.lab.host(step.host);
    const passed = `tcplab:${step.name}:passed:${Date.now().toString(36)}`;
    const result = await ctx.lab.runtime.exec(host.handle, unruleArgv(added.rule, step.name, passed));
    if (result.exitCode !== 0) {
      throw new Error(`${step.host}: could not delete rule "${step.name}": ${added.rule.tool} ${added.rule.deleteArgv.join(' ')}: ${result.stderr.trim()}`);
    }
    const line: RemovedRuleCounters = { rule: step.name, counters: result.stdout.toString('utf8'), passedComment: passed };
    appendFileSync(join(host.dir, REMOVED_RULE_COUNTERS_FILE), `${JSON.stringify(line)}\n`);
    ctx.rules.delete(`${step.host}/${step.name}`);
  },
  'wait-state': async (ctx, step) => {
    const agent = ctx.lab.host(step.host).agent;
    await agent.waitFor(
      // CLOSED has no row of its own: the socket's row disappearing is its CLOSED (as the samples tell it).
      (e) =>
        ((e.type === 'socket' && parseTcpState(e.state) === step.state) || (step.state === 'CLOSED' && e.type === 'socket-gone')) &&
        socketMatches(ctx, step.host, e, step.conn, step.port),
      step.timeoutMs,
      `socket in ${step.state}${describeFilter(step.conn, step.port)}`,
      waitStart(ctx, step.host, step.conn),
      ctx.signal,
    );
  },
  'wait-event': async (ctx, step) => {
    const agent = ctx.lab.host(step.host).agent;
    await agent.waitFor(
      (e) => e.type === step.event && (step.conn === undefined || ('conn' in e && e.conn === step.conn)),
      step.timeoutMs,
      `"${step.event}" event${describeFilter(step.conn, undefined)}`,
      waitStart(ctx, step.host, step.conn),
      ctx.signal,
    );
  },
  'wait-gone': async (ctx, step) => {
    const agent = ctx.lab.host(step.host).agent;
    await agent.waitFor(
      (e) => e.type === 'socket-gone' && socketMatches(ctx, step.host, e, step.conn, step.port),
      step.timeoutMs,
      `socket to disappear${describeFilter(step.conn, step.port)}`,
      waitStart(ctx, step.host, step.conn),
      ctx.signal,
    );
  },
  hold: (ctx, step) => holdEgress(ctx.lab, step.host),
  release: (ctx, step) => releaseEgress(ctx.lab, step.host),
  flood: async (ctx, step) => {
    await floodSyns(ctx.lab, step, ctx.signal);
  },
  inject: async (ctx, step) => {
    await injectSegment(ctx.lab, step, ctx.signal);
  },
  sleep: (ctx, step) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, step.durationMs);
      ctx.signal.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          reject(abortReason(ctx.signal));
        },
        { once: true },
      );
    }),
};

/** Runs one step; an action step (all but waits and sleeps) moves the wait window of its host and connection. */
export async function runStep(ctx: StepContext, step: Step): Promise<void> {
  if (!isWait(step) && 'host' in step) {
    const start = ctx.lab.host(step.host).agent.events.length;
    ctx.actionStart.set(step.host, start);
    const conn = 'conn' in step ? (step.conn ?? ctx.latestConn.get(step.host)) : undefined;
    if (conn !== undefined) ctx.actionStart.set(`${step.host}/${conn}`, start);
  }
  await (EXECUTORS[step.kind] as StepExecutor<StepKind>)(ctx, step);
}

/** Index of the host's agent events from which a wait (on `conn`, if it names one) looks. */
function waitStart(ctx: StepContext, host: string, conn: string | undefined): number {
  return (conn !== undefined ? ctx.actionStart.get(`${host}/${conn}`) : undefined) ?? ctx.actionStart.get(host) ?? 0;
}

/** Remembers connection names and endpoints as the agents report them. */
export function trackConnections(ctx: StepContext, host: string, event: AgentEvent): void {
  if (event.type === 'accepted') {
    ctx.connections.set(`${host}/${event.conn}`, { local: event.local, remote: event.remote });
    ctx.latestConn.set(host, event.conn);
  } else if (event.type === 'connected') {
    ctx.connections.set(`${host}/${event.conn}`, { local: event.local, remote: event.remote });
  }
}

/** One-line description of a step for logs and the step record (English; the sentences live in report/messages/lab-words.ts). */
export function describeStep(step: Step): string {
  return describeStepIn('en', step);
}

function isWait(step: Step): boolean {
  return step.kind === 'wait-state' || step.kind === 'wait-event' || step.kind === 'wait-gone' || step.kind === 'sleep';
}

/**
 * The connection a socket-call step acts on, resolved now (its `conn`, else the host's latest one), or
 * undefined for steps that act on none: recorded in steps.jsonl so the offline replay attributes it.
 */
export function stepConnection(ctx: StepContext, step: Step): string | undefined {
  switch (step.kind) {
    case 'send':
    case 'shutdown':
    case 'close':
    case 'close-on-fin':
    case 'abort':
    case 'setsockopt':
    case 'pause':
    case 'resume':
      return step.conn ?? ctx.latestConn.get(step.host);
    case 'connect':
      return step.conn;
    case 'listen':
    case 'accept':
    case 'unlisten':
    case 'rule':
    case 'unrule':
    case 'wait-state':
    case 'wait-event':
    case 'wait-gone':
    case 'sleep':
    case 'hold':
    case 'release':
    case 'flood':
    case 'inject':
      return undefined;
    default:
      return assertNever(step);
  }
}

function connOf(ctx: StepContext, host: string, conn: string | undefined): string {
  const name = conn ?? ctx.latestConn.get(host);
  if (!name) throw new Error(`${host}: no connection to act on yet (no connect or accepted connection before this step)`);
  return name;
}

function socketMatches(ctx: StepContext, host: string, event: AgentEvent, conn: string | undefined, port: number | undefined): boolean {
  if (event.type !== 'socket' && event.type !== 'socket-gone') return false;
  if (!isLabSocket(event.local)) return false;
  if (port !== undefined && portOf(event.local) !== port && portOf(event.remote) !== port) return false;
  if (conn === undefined) return true;
  const known = ctx.connections.get(`${host}/${conn}`);
  if (!known) return false;
  return event.remote === known.remote && (known.local === undefined || event.local === known.local);
}

/**
 * One command for `unrule`: the counters (a removed rule has no row in the end-of-run counters), then, in one
 * iptables-restore transaction (atomic with the nf_tables backend), the delete and a count-only copy of the
 * rule's matches in its place, commented `passed`. Every matching packet from then on is counted there and goes
 * on, so the end-of-run counters tell exactly how many matching packets came after the delete: the rule
 * timeline needs no guess about packets that arrived while the step ran.
 */
function unruleArgv(rule: ParsedRule, name: string, passed: string): string[] {
  const script = [
    'set -e',
    `${rule.tool}-save -c`,
    // The rule's position: -S prints the chain's policy first, then its rules in order.
    `line=$(${rule.tool} -w -t "$1" -S "$2" | sed 's/$/ /' | grep -n -F -e "--comment $3 " -e "--comment \\"$3\\" " | head -n 1 | cut -d: -f1)`,
    '[ -n "$line" ]',
    `printf '%s\\n' "*$1" "-D $2 $4" "-I $2 $((line - 1)) $5 -m comment --comment $6" COMMIT | ${rule.tool}-restore -w --noflush`,
  ].join('\n');
  const deleteSpec = rule.spec.join(' ');
  return ['sh', '-c', script, 'unrule', rule.table, rule.chain, `tcplab:${name}`, deleteSpec, countOnlySpec(rule.spec).join(' '), passed];
}

async function runIptables(ctx: StepContext, host: string, rule: ParsedRule, argv: readonly string[], what: string): Promise<void> {
  const result = await ctx.lab.runtime.exec(ctx.lab.host(host).handle, [rule.tool, ...argv]);
  if (result.exitCode !== 0) {
    throw new Error(`${host}: could not ${what}: ${rule.tool} ${argv.join(' ')}: ${result.stderr.trim()}`);
  }
}

function describeFilter(conn: string | undefined, port: number | undefined): string {
  return `${conn ? ` on ${conn}` : ''}${port !== undefined ? ` (port ${port})` : ''}`;
}
