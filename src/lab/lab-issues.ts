import type { z } from 'zod';
import { didYouMean } from './lab-error.js';
import { describeValue } from './duration.js';
import { quote } from './quote-token.js';

/** A problem located by its path in the lab document; `target: 'key'` points at the key rather than its value. */
export interface PathProblem {
  readonly path: readonly PropertyKey[];
  readonly message: string;
  readonly target: 'value' | 'key';
}

/** Example values, by field name, that end "missing" and "wrong type" messages with a remedy. */
const FIELD_EXAMPLES: Readonly<Record<string, string>> = {
  title: 'title: "SYN_SENT: the server drops every SYN"',
  description: 'description: | followed by the narrative',
  hosts: 'hosts: { client: {}, server: {} }',
  steps: 'steps: [ { listen: { host: server, port: 8888 } } ]',
  expect: 'expect: [ { handshake: { client: client, server: server } } ]',
  sysctls: 'sysctls: { net.ipv4.tcp_syn_retries: 2 }',
  host: 'host: client',
  to: 'to: server',
  from: 'from: client',
  client: 'client: client',
  server: 'server: server',
  port: 'port: 8888',
  local_port: 'local_port: 7777',
  backlog: 'backlog: 128',
  accept: 'accept: true',
  bytes: 'bytes: 100',
  conn: 'conn: c',
  as: 'as: c',
  name: 'name: drop-syn',
  add: 'add: "-I INPUT -p tcp --dport 8888 -j DROP"',
  timeout: 'timeout: 30s',
  sleep: 'sleep: 2s',
  state: 'state: ESTABLISHED',
  event: 'event: connected',
  gone: 'gone: true',
  path: 'path: [SYN_SENT, ESTABLISHED]',
  states: 'states: [ESTABLISHED]',
  is: 'is: ETIMEDOUT',
  flags: 'flags: "S."',
  count: 'count: 1',
  min: 'min: 1',
  max: 'max: 6',
  same_seq: 'same_seq: true',
  source: 'source: "seed 000 §二(四)"',
  description_zh: 'description_zh: | followed by the Chinese narrative',
  options: 'options: { nodelay: true, linger: 5s }',
  keepalive: 'keepalive: { idle: 2s, interval: 1s, count: 3 } (or true, false)',
  user_timeout: 'user_timeout: 3s',
  linger: 'linger: 5s (or off; close with RST is the abort step)',
  nodelay: 'nodelay: true',
  rcvbuf: 'rcvbuf: 4096',
  sndbuf: 'sndbuf: 4096',
  maxseg: 'maxseg: 536',
  reuseaddr: 'reuseaddr: true',
  reuseport: 'reuseport: true',
  defer_accept: 'defer_accept: 2s',
  family: 'family: 6',
  nonblocking: 'nonblocking: true',
};

const TYPE_WORDS: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  object: 'a mapping',
  array: 'a list',
  null: 'nothing',
};

function exampleFor(path: readonly PropertyKey[]): string {
  // The field's own example (a list item's is its list's; a sysctl key's is `sysctls`'); none rather than an unrelated one.
  const field = [...path].reverse().find((segment): segment is string => typeof segment === 'string');
  const example =
    field !== undefined && Object.hasOwn(FIELD_EXAMPLES, field) ? FIELD_EXAMPLES[field] : path.includes('sysctls') ? FIELD_EXAMPLES.sysctls : undefined;
  return example === undefined ? '' : `; e.g. ${example}`;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let value = root;
  for (const segment of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[segment];
  }
  return value;
}

/** Keys that the object schema at `relativePath` of `schema` accepts (for "unknown key" messages). */
export function knownKeysAt(schema: z.ZodType, relativePath: readonly PropertyKey[]): string[] {
  let current: unknown = schema;
  const remaining = [...relativePath];
  for (let guard = 0; guard < 64; guard++) {
    const def = (current as { _zod?: { def?: Record<string, unknown> } })._zod?.def;
    if (def === undefined) return [];
    switch (def['type']) {
      case 'optional':
      case 'nullable':
      case 'default':
      case 'readonly':
        current = def['innerType'];
        continue;
      case 'pipe':
        current = def['in'];
        continue;
      case 'union': {
        const options = def['options'] as unknown[];
        current = options.find((option) => (option as { _zod?: { def?: { type?: string } } })._zod?.def?.type === 'object') ?? options[0];
        continue;
      }
      case 'object': {
        const shape = def['shape'] as Record<string, unknown>;
        const next = remaining.shift();
        if (next === undefined) return Object.keys(shape);
        current = shape[String(next)];
        continue;
      }
      case 'record':
        if (remaining.shift() === undefined) return [];
        current = def['valueType'];
        continue;
      case 'array':
        if (remaining.shift() === undefined) return [];
        current = def['element'];
        continue;
      default:
        return [];
    }
  }
  return [];
}

/**
 * Turns zod issues (of `schema` applied to the value at `basePath` of `root`) into messages that say what was
 * expected, what was received and how to fix it.
 */
export function describeIssues(issues: readonly z.core.$ZodIssue[], schema: z.ZodType, basePath: readonly PropertyKey[], root: unknown): PathProblem[] {
  const problems: PathProblem[] = [];
  for (const issue of issues) {
    const relative = issue.path;
    const path = [...basePath, ...relative];
    const received = valueAt(root, path);
    switch (issue.code) {
      case 'unrecognized_keys': {
        const known = knownKeysAt(schema, relative);
        for (const key of issue.keys) {
          problems.push({
            path: [...path, key],
            target: 'key',
            message: `unknown key ${quote(key)}; known keys: ${known.join(', ')}${didYouMean(key, known)}`,
          });
        }
        break;
      }
      case 'invalid_type': {
        const last = path[path.length - 1];
        if (path.length === 0 && (received === null || received === undefined)) {
          problems.push({ path, target: 'value', message: 'the lab file is empty; a lab needs at least title, description, hosts and steps' });
        } else if (received === undefined && typeof last === 'string') {
          problems.push({ path, target: 'value', message: `missing required key ${quote(last)}${exampleFor(path).replace('; e.g.', '; add it, e.g.')}` });
        } else {
          const expected = TYPE_WORDS[issue.expected] ?? issue.expected;
          problems.push({ path, target: 'value', message: `expected ${expected}, received ${describeValue(received)}${exampleFor(path)}` });
        }
        break;
      }
      case 'too_small':
      case 'too_big': {
        const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
        const relation = issue.code === 'too_small' ? (issue.inclusive ? 'at least' : 'more than') : issue.inclusive ? 'at most' : 'less than';
        const unit = issue.origin === 'array' ? ' item(s)' : issue.origin === 'string' ? ' character(s)' : '';
        const shown = Array.isArray(received) ? `${received.length} item(s)` : describeValue(received);
        const remedy = issue.code === 'too_big' ? '; that is a limit of the lab format (README: Lab format, limits)' : exampleFor(path);
        problems.push({ path, target: 'value', message: `expected ${relation} ${String(bound)}${unit}, received ${shown}${remedy}` });
        break;
      }
      case 'invalid_value': {
        const values = issue.values.map((v) => String(v));
        const hint = typeof received === 'string' ? didYouMean(received, values) : '';
        problems.push({ path, target: 'value', message: `expected one of ${values.join(', ')}, received ${describeValue(received)}${hint}` });
        break;
      }
      case 'invalid_format':
        problems.push({ path, target: 'value', message: describeFormatProblem(path, received) });
        break;
      case 'invalid_key': {
        const key = path[path.length - 1];
        problems.push({ path, target: 'key', message: describeFormatProblem(path, key) });
        break;
      }
      case 'invalid_union': {
        const expected = [
          ...new Set(issue.errors.flat().flatMap((inner) => (inner.code === 'invalid_type' ? [TYPE_WORDS[inner.expected] ?? inner.expected] : []))),
        ];
        const what = expected.length > 0 ? expected.join(' or ') : 'a different value';
        problems.push({ path, target: 'value', message: `expected ${what}, received ${describeValue(received)}${exampleFor(path)}` });
        break;
      }
      case 'custom':
        problems.push({ path, target: 'value', message: issue.message });
        break;
      default:
        problems.push({ path, target: 'value', message: `${issue.message}; received ${describeValue(received)}${exampleFor(path)}` });
    }
  }
  return problems;
}

function describeFormatProblem(path: readonly PropertyKey[], received: unknown): string {
  const parent = path[path.length - 2];
  const field = path[path.length - 1];
  const shown = typeof received === 'string' ? `${quote(received)}` : describeValue(received);
  if (parent === 'hosts') return `invalid host name ${shown}; use lower-case letters, digits and -, starting with a letter (e.g. client, server-2)`;
  if (parent === 'sysctls' && typeof received === 'string' && received.startsWith('net.')) {
    return `invalid sysctl ${shown}; a key is net. and dot-separated words of letters, digits, _ and - with no empty word (e.g. net.ipv4.tcp_syn_retries)`;
  }
  if (parent === 'sysctls')
    return `invalid sysctl ${shown}; only per-network-namespace sysctls starting with "net." can be set (e.g. net.ipv4.tcp_syn_retries)`;
  if (path.length === 1 && field === 'name')
    return `invalid lab name ${shown}; use lower-case letters, digits and -, starting with a letter or digit (e.g. syn-sent)`;
  if (field === 'name') return `invalid name ${shown}; use lower-case letters, digits and -, starting with a letter (e.g. drop-syn)`;
  return `invalid value ${shown}${exampleFor(path)}`;
}
