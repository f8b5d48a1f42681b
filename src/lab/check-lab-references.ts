import { assertNever } from '../tcp/state.js';
import { didYouMean } from './lab-error.js';
import type { PathProblem } from './lab-issues.js';
import type { Expectation, Step } from './model.js';
import { quote } from './quote-token.js';

/** A step or expectation item as loaded: mapped to the model, or failed (its raw value still declares names). */
export type LoadedItem<Model> =
  | { readonly status: 'parsed'; readonly key: string; readonly model: Model }
  | { readonly status: 'failed'; readonly key: string | undefined; readonly raw: unknown };

const ACCEPTED_CONN = /^accepted-[1-9][0-9]*$/;

/**
 * Checks the names that items use against the names declared before them: hosts, connections (a connect's
 * `as`, or `accepted-N` after a listen on that host), rules (unique per lab, `unrule` after its `rule`).
 * Items that failed schema validation still declare what their raw value names, to avoid follow-on noise.
 */
export function checkLabReferences(
  hostNames: readonly string[],
  steps: readonly LoadedItem<Step>[],
  expectations: readonly LoadedItem<Expectation>[],
): PathProblem[] {
  const problems: PathProblem[] = [];
  const hosts = new Set(hostNames);
  const connsByHost = new Map<string, Map<string, number>>();
  const listenersByHost = new Set<string>();
  const rules = new Map<string, { host: string; index: number; removedAt?: number }>();
  const connectsByHost = new Map<string, Set<string>>();
  /** `host:port` of each listen step: whether it accepts on its own, and the step that closed it. */
  const listenPorts = new Map<string, { accept: boolean; unlistenedAt?: number }>();
  const nonblockingConnects = new Set<string>();

  const report = (path: readonly PropertyKey[], message: string): void => {
    problems.push({ path, message, target: 'value' });
  };
  const checkHost = (path: readonly PropertyKey[], name: string): boolean => {
    if (hosts.has(name)) return true;
    const suggestion = didYouMean(name, hostNames);
    report(
      path,
      `unknown host ${quote(name)}; declared hosts: ${hostNames.join(', ')}${suggestion === '' ? '; declare it under hosts or use one of these' : suggestion}`,
    );
    return false;
  };
  const declareConn = (host: string, conn: string, index: number): void => {
    const conns = connsByHost.get(host) ?? new Map<string, number>();
    conns.set(conn, index);
    connsByHost.set(host, conns);
    const connects = connectsByHost.get(host) ?? new Set<string>();
    connects.add(conn);
    connectsByHost.set(host, connects);
  };
  const checkConn = (path: readonly PropertyKey[], host: string, conn: string | undefined, required: boolean): void => {
    if (!hosts.has(host)) return;
    const known = [...(connsByHost.get(host)?.keys() ?? [])];
    const hasListener = listenersByHost.has(host);
    if (conn === undefined) {
      if (required && known.length === 0 && !hasListener) {
        report(path.slice(0, -1), `host ${quote(host)} has no connection at this step; add a connect (or listen) step on ${host} before this one`);
      }
      return;
    }
    if (known.includes(conn)) return;
    if (ACCEPTED_CONN.test(conn) && hasListener) return;
    const names = hasListener ? [...known, 'accepted-1', 'accepted-2', '…'] : known;
    const listed = names.length > 0 ? `connections on ${host} at this step: ${names.join(', ')}` : `no connection exists on ${host} at this step`;
    const suggestion = didYouMean(conn, known);
    // accepted-N is what a listener names its connections: the remedy is a listen step, not a connect named so.
    const remedy = ACCEPTED_CONN.test(conn)
      ? `; ${conn} names a connection a listener accepted, and no listen step runs on ${host} before this`
      : `; create it first with \`connect: { host: ${host}, …, as: ${conn} }\``;
    report(path, `unknown connection ${quote(conn)} on host ${quote(host)}; ${listed}${suggestion === '' ? remedy : suggestion}`);
  };

  steps.forEach((item, index) => {
    const at = (field: string): PropertyKey[] => ['steps', index, item.key ?? '?', field];
    if (item.status === 'failed') {
      declareFromRaw(item, index, { declareConn, listenersByHost, rules });
      return;
    }
    const step = item.model;
    switch (step.kind) {
      case 'listen':
        if (checkHost(at('host'), step.host)) {
          listenersByHost.add(step.host);
          listenPorts.set(`${step.host}:${step.port}`, { accept: step.accept });
        }
        break;
      case 'accept':
      case 'unlisten': {
        if (!checkHost(at('host'), step.host)) break;
        const listener = listenPorts.get(`${step.host}:${step.port}`);
        const ports = [...listenPorts.keys()].filter((key) => key.startsWith(`${step.host}:`)).map((key) => key.slice(step.host.length + 1));
        if (listener === undefined) {
          const listed = ports.length > 0 ? `listeners on ${step.host} at this step: port ${ports.join(', ')}` : `no listen step on ${step.host} comes before`;
          report(
            at('port'),
            `no listener on port ${step.port} of host ${quote(step.host)}; ${listed}; add \`listen: { host: ${step.host}, port: ${step.port} }\` first`,
          );
        } else if (listener.unlistenedAt !== undefined) {
          report(
            at('port'),
            `the listener on ${step.host} port ${step.port} was already closed by steps[${listener.unlistenedAt}]; ${step.kind} it before that step`,
          );
        } else if (step.kind === 'accept' && listener.accept) {
          report(
            at('port'),
            `the listener on ${step.host} port ${step.port} accepts every connection by itself; make it \`accept: false\` to leave connections queued for accept steps`,
          );
        } else if (step.kind === 'unlisten') {
          listener.unlistenedAt = index;
        }
        break;
      }
      case 'connect': {
        const hostOk = checkHost(at('host'), step.host);
        checkHost(at('to'), step.to);
        if (ACCEPTED_CONN.test(step.conn)) {
          report(at('as'), `connection name ${quote(step.conn)} is reserved for connections accepted by a listener; choose another name, e.g. as: c`);
        } else if (hostOk && connectsByHost.get(step.host)?.has(step.conn)) {
          report(at('as'), `connection ${quote(step.conn)} already exists on host ${quote(step.host)}; give this connect another name with \`as\``);
        }
        if (hostOk) declareConn(step.host, step.conn, index);
        if (hostOk && step.nonblocking) nonblockingConnects.add(`${step.host}/${step.conn}`);
        break;
      }
      case 'setsockopt':
      case 'pause':
      case 'resume':
      case 'send':
      case 'shutdown':
      case 'close':
      case 'close-on-fin':
      case 'abort':
        if (checkHost(at('host'), step.host)) checkConn(at('conn'), step.host, step.conn, true);
        break;
      case 'wait-state':
      case 'wait-event':
      case 'wait-gone':
        if (checkHost(at('host'), step.host)) checkConn(at('conn'), step.host, step.conn, false);
        break;
      case 'rule': {
        checkHost(at('host'), step.host);
        const earlier = rules.get(step.name);
        if (earlier !== undefined) {
          report(
            at('name'),
            `duplicate rule name ${quote(step.name)} (already used by steps[${earlier.index}]); rule names must be unique in a lab, rename one`,
          );
        } else {
          rules.set(step.name, { host: step.host, index });
        }
        break;
      }
      case 'unrule': {
        if (!checkHost(at('host'), step.host)) break;
        const rule = rules.get(step.name);
        const onHost = [...rules.entries()].filter(([, r]) => r.host === step.host && r.removedAt === undefined).map(([name]) => name);
        if (rule === undefined || rule.host !== step.host) {
          const listed =
            onHost.length > 0 ? `rules on ${step.host} at this step: ${onHost.join(', ')}` : `no rule has been added on ${step.host} before this step`;
          const suggestion = didYouMean(step.name, onHost);
          report(
            at('name'),
            `unknown rule ${quote(step.name)} on host ${quote(step.host)}; ${listed}${suggestion === '' ? '; an unrule must follow the rule step that adds it' : suggestion}`,
          );
        } else if (rule.removedAt !== undefined) {
          report(at('name'), `rule ${quote(step.name)} was already removed by steps[${rule.removedAt}]; remove this unrule`);
        } else {
          rule.removedAt = index;
        }
        break;
      }
      case 'sleep':
        break;
      case 'hold':
      case 'release':
        checkHost(at('host'), step.host);
        break;
      case 'flood':
        checkHost(at('host'), step.host);
        checkHost(at('to'), step.to);
        break;
      case 'inject': {
        const hostOk = checkHost(at('host'), step.host);
        const problem = injectTargetProblem(step.to, step.host, hostNames);
        if (problem !== undefined) report(at('to'), problem);
        else if (hostOk) checkHost(at('to'), step.to);
        break;
      }
      default:
        assertNever(step);
    }
  });

  expectations.forEach((item, index) => {
    if (item.status === 'failed') return;
    const at = (field: string): PropertyKey[] => ['expect', index, item.key, field];
    const expectation = item.model;
    switch (expectation.kind) {
      case 'states':
      case 'never':
      case 'sockets':
        if (checkHost(at('host'), expectation.host) && expectation.conn !== undefined) checkConn(at('conn'), expectation.host, expectation.conn, true);
        break;
      case 'synack-retransmits':
      case 'timer':
        checkHost(at('host'), expectation.host);
        break;
      case 'received':
      case 'sent':
        if (checkHost(at('host'), expectation.host)) checkConn(at('conn'), expectation.host, expectation.conn, true);
        break;
      case 'accepted':
        if (checkHost(at('host'), expectation.host)) {
          if (!ACCEPTED_CONN.test(expectation.conn)) {
            report(
              at('conn'),
              `accepted names a connection a listener accepted (accepted-1, accepted-2, …), received ${quote(expectation.conn)}; use accepted-N`,
            );
          } else checkConn(at('conn'), expectation.host, expectation.conn, true);
        }
        checkHost(at('from'), expectation.from);
        break;
      case 'icmp':
        checkHost(at('from'), expectation.from);
        checkHost(at('to'), expectation.to);
        break;
      case 'data-retransmits':
      case 'fin-retransmits':
        // Either end's data and FIN are retransmitted: a connect's `as`, or a listener's accepted-N.
        if (checkHost(at('host'), expectation.host)) checkConn(at('conn'), expectation.host, expectation.conn, false);
        break;
      case 'syn-retransmits': {
        if (!checkHost(at('host'), expectation.host) || expectation.conn === undefined) break;
        const connects = [...(connectsByHost.get(expectation.host) ?? [])];
        if (!connects.includes(expectation.conn)) {
          report(
            at('conn'),
            `unknown connection ${quote(expectation.conn)} on host ${quote(expectation.host)}; connections made by connect steps there: ${connects.join(', ') || '(none)'}`,
          );
        }
        break;
      }
      case 'outcome': {
        if (!checkHost(at('host'), expectation.host)) break;
        const connects = [...(connectsByHost.get(expectation.host) ?? [])];
        if (!connects.includes(expectation.conn)) {
          const listed =
            connects.length > 0
              ? `connections made by connect steps on ${expectation.host}: ${connects.join(', ')}`
              : `no connect step runs on ${expectation.host}`;
          const suggestion = didYouMean(expectation.conn, connects);
          report(
            at('conn'),
            `unknown connection ${quote(expectation.conn)} on host ${quote(expectation.host)}; ${listed}${suggestion === '' ? '; an outcome names the `as` of a connect step' : suggestion}`,
          );
        }
        break;
      }
      case 'connect-returned':
        if (!checkHost(at('host'), expectation.host)) break;
        if (!nonblockingConnects.has(`${expectation.host}/${expectation.conn}`)) {
          const nonblocking = [...nonblockingConnects]
            .filter((key) => key.startsWith(`${expectation.host}/`))
            .map((key) => key.slice(expectation.host.length + 1));
          report(
            at('conn'),
            `returned: ${quote(expectation.conn)} on ${quote(expectation.host)} is not a nonblocking connect (${nonblocking.length > 0 ? `nonblocking connects there: ${nonblocking.join(', ')}` : 'there are none on that host'}); a blocking connect(2) returns only when the handshake ends (see outcome); add \`nonblocking: true\` to its connect step`,
          );
        }
        break;
      case 'error':
      case 'keepalive-probes':
      case 'persist-probes':
        checkHost(at('host'), expectation.host);
        checkConn(at('conn'), expectation.host, expectation.conn, true);
        break;
      case 'packets':
        checkHost(at('from'), expectation.from);
        checkHost(at('to'), expectation.to);
        break;
      case 'handshake':
        checkHost(at('client'), expectation.client);
        checkHost(at('server'), expectation.server);
        break;
      default:
        assertNever(expectation);
    }
  });
  return problems;
}

/**
 * Why `to` cannot be the destination of an inject step from `from`, or undefined: only a lab host (by name)
 * is a destination, so a crafted segment never leaves the lab's network (DESIGN.md "Network safety").
 */
export function injectTargetProblem(to: string, from: string, hostNames: readonly string[]): string | undefined {
  const declared = `declared hosts: ${hostNames.join(', ')}`;
  if (/^[0-9.]+$/.test(to) || to.includes(':') || /^[0-9a-f]*::?[0-9a-f:]*$/i.test(to)) {
    return `inject sends only to lab hosts, by name; ${quote(to)} is an address, and tcplab never sends a crafted segment to an address: write the name of a host (${declared})`;
  }
  if (hostNames.includes(to) && to === from) {
    return `inject from ${quote(from)} to itself would never cross the lab network (no capture sees it); send it to another host (${declared})`;
  }
  if (!hostNames.includes(to)) {
    const suggestion = didYouMean(to, hostNames);
    return `inject sends only to lab hosts; ${quote(to)} is not a host of this lab (${declared})${suggestion === '' ? '; declare it under hosts or name one of these' : suggestion}`;
  }
  return undefined;
}

function declareFromRaw(
  item: Extract<LoadedItem<Step>, { status: 'failed' }>,
  index: number,
  state: {
    declareConn: (host: string, conn: string, index: number) => void;
    listenersByHost: Set<string>;
    rules: Map<string, { host: string; index: number; removedAt?: number }>;
  },
): void {
  const raw = (item.raw !== null && typeof item.raw === 'object' ? item.raw : {}) as Record<string, unknown>;
  const host = typeof raw['host'] === 'string' ? raw['host'] : undefined;
  if (host === undefined) return;
  if (item.key === 'connect') state.declareConn(host, typeof raw['as'] === 'string' ? raw['as'] : 'conn', index);
  if (item.key === 'listen') state.listenersByHost.add(host);
  if (item.key === 'rule' && typeof raw['name'] === 'string' && !state.rules.has(raw['name'])) state.rules.set(raw['name'], { host, index });
}
