// Lab files may start with `# yaml-language-server: $schema=../schema/lab.schema.json` so editors
// (VS Code's YAML extension, any yaml-language-server client) complete and check them against the schema.
import { basename, resolve } from 'node:path';
import { LineCounter, isMap, isSeq, parseDocument, type Document } from 'yaml';
import { RuleError, parseRule, placeholderAddresses } from '../faults/iptables-rule.js';
import { checkLabCapacity } from './check-lab-capacity.js';
import { checkLabReferences, type LoadedItem } from './check-lab-references.js';
import { describeValue } from './duration.js';
import { loadExercise } from './exercise-kinds.js';
import { LabError, didYouMean, formatLabPath, type LabProblem } from './lab-error.js';
import { describeIssues, type PathProblem } from './lab-issues.js';
import {
  EXPECTATION_KINDS,
  HOST_NAME_PATTERN,
  LAB_FILE_SCHEMA,
  LAB_NAME_PATTERN,
  RESERVED_HOST_NAMES,
  STEP_KINDS,
  durationMs,
  type ItemKind,
} from './lab-kinds.js';
import { MAX_LAB_FILE_BYTES, MAX_YAML_ALIASES } from './lab-limits.js';
import { applyOverrides, findOverrideFor, parseOverrides } from './lab-overrides.js';
import { familyOf, type Lab, type LabHost, type SourcePos, type Step } from './model.js';
import { readLabFileText } from './read-lab-file.js';
import { checkYamlDepth, checkYamlLimits } from './yaml-limits.js';
import { findKeyNode, findNode, pathAtOffset, positionOf } from './yaml-positions.js';
import { clip, quote } from './quote-token.js';

const DEFAULT_TIMEOUT_MS = 120_000;

/** Reads and validates a lab file; throws LabError with every problem found. `overrides` are `--set` arguments. */
export async function loadLabFile(path: string, overrides: readonly string[] = []): Promise<Lab> {
  return loadLabText(await readLabFileText(path), path, overrides);
}

/**
 * Positions problems found after loading (checks against this machine's kernel and iptables) in the lab file
 * and its `--set` arguments, as loading does; `problems` use lab paths such as `hosts.client.sysctls.KEY`.
 */
export async function locateLabFileProblems(path: string, overrides: readonly string[], problems: readonly PathProblem[]): Promise<LabError> {
  const { doc, lineCounter } = parseLabYaml(await readLabFileText(path), path);
  return new LabError(locateProblems(problems, doc, lineCounter, path, parseOverrides(overrides).overrides));
}

/** Validates lab YAML text (pure: no I/O); `file` names it in problems and becomes `Lab.file` (made absolute). */
export function loadLabText(text: string, file: string, overrides: readonly string[] = []): Lab {
  const { doc, lineCounter, value } = parseLabYaml(text, file);
  const parsedOverrides = parseOverrides(overrides);
  const applied = applyOverrides(value, parsedOverrides.overrides);
  const overrideProblems = [...parsedOverrides.problems, ...applied.problems];
  const root = applied.document;

  const pathProblems: PathProblem[] = [];
  const top = LAB_FILE_SCHEMA.safeParse(root);
  if (!top.success) pathProblems.push(...describeIssues(top.error.issues, LAB_FILE_SCHEMA, [], root));
  const record = (root !== null && typeof root === 'object' && !Array.isArray(root) ? root : {}) as Record<string, unknown>;

  // host names: the schema checks the pattern; reserved words are checked here
  const hostsValue = record['hosts'];
  const hostNames = hostsValue !== null && typeof hostsValue === 'object' && !Array.isArray(hostsValue) ? Object.keys(hostsValue) : [];
  if (hostNames.length === 0 && hostsValue !== null && typeof hostsValue === 'object' && !Array.isArray(hostsValue)) {
    pathProblems.push({ path: ['hosts'], target: 'value', message: 'no hosts declared; declare at least one, e.g. `hosts: { client: {}, server: {} }`' });
  }
  for (const name of hostNames) {
    if ((RESERVED_HOST_NAMES as readonly string[]).includes(name)) {
      pathProblems.push({
        path: ['hosts', name],
        target: 'key',
        message: `host name ${quote(name)} is reserved; choose another name (e.g. client, server, peer)`,
      });
    }
  }

  const steps = loadItems(record['steps'], 'steps', STEP_KINDS, pathProblems);
  const expectations = loadItems(record['expect'], 'expect', EXPECTATION_KINDS, pathProblems);
  const namedSteps = nameRules(steps);
  const validHosts = hostNames.filter((name) => HOST_NAME_PATTERN.test(name));
  pathProblems.push(...checkLabReferences(validHosts, namedSteps, expectations));
  pathProblems.push(...checkRuleTexts(namedSteps, validHosts));
  pathProblems.push(...checkLabCapacity(hostNames.length, namedSteps));
  const parsedSteps = namedSteps.flatMap((item) => (item.status === 'parsed' ? [item.model] : []));
  const exerciseContext = { hostNames: validHosts, steps: parsedSteps, expectationCount: expectations.length };
  const exercise = loadExercise(record['exercise'], exerciseContext, pathProblems);

  let name = typeof record['name'] === 'string' ? record['name'] : basename(file).replace(/\.ya?ml$/, '');
  if (record['name'] === undefined && !LAB_NAME_PATTERN.test(name)) {
    pathProblems.push({
      path: [],
      target: 'value',
      message: `the file name gives the lab name ${quote(name)}, which is not valid; add name: with lower-case letters, digits and - (e.g. name: syn-sent)`,
    });
    name = 'lab';
  }

  const problems = [...overrideProblems, ...locateProblems(pathProblems, doc, lineCounter, file, parsedOverrides.overrides)];
  if (problems.length > 0) throw new LabError(problems);

  const data = top.success ? top.data : undefined;
  if (data === undefined) throw new Error('loadLabText: schema failed without problems');
  const hosts: LabHost[] = Object.entries(data.hosts).map(([hostName, host]) => ({
    name: hostName,
    sysctls: Object.fromEntries(Object.entries(host?.sysctls ?? {}).map(([key, value]) => [key, String(value)])),
  }));
  const positions = {
    steps: steps.map((_, i) => positionOfPath(doc, lineCounter, ['steps', i])),
    expectations: expectations.map((_, i) => positionOfPath(doc, lineCounter, ['expect', i])),
  };
  return {
    name,
    title: data.title,
    description: data.description,
    ...(data.description_zh !== undefined && { descriptionZh: data.description_zh }),
    ...(data.source !== undefined && { source: data.source }),
    file: resolve(file),
    hosts,
    steps: namedSteps.map((item) => parsedModel(item)),
    expectations: expectations.map((item) => parsedModel(item)),
    timeoutMs: data.timeout === undefined ? DEFAULT_TIMEOUT_MS : durationMs(data.timeout),
    ...(exercise !== undefined && { exercise }),
    positions,
  };
}

/**
 * Parses lab YAML within the limits of lab-limits.ts (size, nesting depth, aliases, prototype keys) and
 * turns it into plain values; throws LabError with one positioned problem per kind of violation.
 */
function parseLabYaml(text: string, file: string): { doc: Document; lineCounter: LineCounter; value: unknown } {
  const lineCounter = new LineCounter();
  const fail = (problems: readonly PathProblem[], doc: Document): never => {
    throw new LabError(locateProblems(problems, doc, lineCounter, file, []));
  };
  if (text.length > MAX_LAB_FILE_BYTES) {
    const message = `the text has ${text.length} characters, more than a lab file may have (${MAX_LAB_FILE_BYTES}); is it the right file?`;
    throw new LabError([{ file, line: 1, col: 1, path: '(document)', message }]);
  }
  const tooDeep = checkYamlDepth(text);
  if (tooDeep !== undefined) {
    const before = text.slice(0, tooDeep.offset);
    const line = before.split('\n').length;
    const col = tooDeep.offset - before.lastIndexOf('\n');
    throw new LabError([{ file, line, col, path: formatLabPath(tooDeep.path), message: tooDeep.message }]);
  }
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const [firstError] = doc.errors;
  if (firstError !== undefined) {
    // the first syntax error only: a file that is not YAML at all would otherwise give one line per line
    const { line, col } = lineCounter.linePos(firstError.pos[0]);
    const path = pathAtOffsetSafe(doc, firstError.pos[0]);
    const more = doc.errors.length > 1 ? ` (${doc.errors.length - 1} more YAML error(s) after this one)` : '';
    const message = `${describeYamlError(firstError.code, firstError.message, path[path.length - 1])}${more}`;
    throw new LabError([{ file, line, col, path: formatLabPath(path), message }]);
  }
  const limits = checkYamlLimits(doc);
  if (limits.problems.length > 0) fail(limits.problems, doc);
  if (doc.contents !== null && !isMap(doc.contents)) {
    const what = isSeq(doc.contents) ? 'a list' : 'a single value';
    const message = `this is not a lab file: its YAML is ${what}, a lab is a mapping with title, description, hosts and steps`;
    fail([{ path: [], target: 'value', message }], doc);
  }
  try {
    return { doc, lineCounter, value: doc.toJS({ maxAliasCount: MAX_YAML_ALIASES * 2 }) as unknown };
  } catch (error) {
    if (!(error instanceof ReferenceError) || !/alias/i.test(error.message)) throw error;
    const message = 'YAML aliases here expand to too many nodes (an alias bomb); write the values out instead of nesting aliases';
    return fail([{ path: limits.firstAliasPath ?? [], target: 'value', message }], doc);
  }
}

function parsedModel<Model>(item: LoadedItem<Model>): Model {
  if (item.status !== 'parsed') throw new Error('loadLabText: unparsed item without problems');
  return item.model;
}

/** Validates each item of `steps` / `expect`: a mapping with exactly one key naming a registered kind. */
function loadItems<Model>(
  value: unknown,
  section: 'steps' | 'expect',
  kinds: ReadonlyMap<string, ItemKind<Model>>,
  problems: PathProblem[],
): LoadedItem<Model>[] {
  if (!Array.isArray(value)) return [];
  const known = [...kinds.keys()];
  const noun = section === 'steps' ? 'step' : 'expectation';
  return value.map((item: unknown, index): LoadedItem<Model> => {
    const path = [section, index];
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      problems.push({ path, target: 'value', message: `expected a ${noun} (a mapping with one key: ${known.join(', ')}), received ${describeValue(item)}` });
      return { status: 'failed', key: undefined, raw: item };
    }
    const keys = Object.keys(item);
    if (keys.length !== 1) {
      const received = keys.length === 0 ? 'an empty mapping' : `${keys.length} keys (${keys.join(', ')})`;
      problems.push({
        path,
        target: 'value',
        message: `a ${noun} item has exactly one key, the ${noun} kind, received ${received}; ${keys.length === 0 ? `use one of ${known.join(', ')}` : 'put each in its own list item (a new "- ")'}`,
      });
      return { status: 'failed', key: undefined, raw: item };
    }
    const key = keys[0] as string;
    const raw = (item as Record<string, unknown>)[key];
    const kind = kinds.get(key);
    if (kind === undefined) {
      problems.push({
        path: [...path, key],
        target: 'key',
        message: `unknown ${noun} kind ${quote(key)}; known kinds: ${known.join(', ')}${didYouMean(key, known)}`,
      });
      return { status: 'failed', key, raw };
    }
    const parsed = kind.schema.safeParse(raw);
    if (!parsed.success) {
      problems.push(...describeIssues(parsed.error.issues, kind.schema, [...path, key], { [section]: { [index]: { [key]: raw } } }));
      return { status: 'failed', key, raw };
    }
    return { status: 'parsed', key, model: kind.toModel(parsed.data) };
  });
}

/** Parses each rule's text now (with stand-in addresses) so a bad rule fails at load time, not mid-run. */
function checkRuleTexts(steps: readonly LoadedItem<Step>[], hostNames: readonly string[]): PathProblem[] {
  const standIns = { 4: placeholderAddresses(hostNames, 4), 6: placeholderAddresses(hostNames, 6) } as const;
  const problems: PathProblem[] = [];
  steps.forEach((item, index) => {
    if (item.status !== 'parsed' || item.model.kind !== 'rule') return;
    try {
      parseRule(item.model.text, standIns[familyOf(item.model)], { family: familyOf(item.model) });
    } catch (error) {
      if (!(error instanceof RuleError)) throw error;
      problems.push({ path: ['steps', index, 'rule', 'add'], target: 'value', message: error.reason });
    }
  });
  return problems;
}

/** Gives unnamed rules their default name `rule<N>` (N counts the lab's rule steps from 1). */
function nameRules(steps: readonly LoadedItem<Step>[]): LoadedItem<Step>[] {
  let ruleNumber = 0;
  return steps.map((item) => {
    if (item.key === 'rule') ruleNumber++;
    if (item.status === 'parsed' && item.model.kind === 'rule' && item.model.name === '') {
      return { ...item, model: { ...item.model, name: `rule${ruleNumber}` } };
    }
    return item;
  });
}

function locateProblems(
  problems: readonly PathProblem[],
  doc: Document,
  lineCounter: LineCounter,
  file: string,
  overrides: ReturnType<typeof parseOverrides>['overrides'],
): LabProblem[] {
  const located = problems.map((problem): LabProblem => {
    const override = findOverrideFor(problem.path, overrides);
    if (override !== undefined) {
      return {
        file: '--set',
        line: override.ordinal,
        col: problem.target === 'key' ? override.keyCol : override.valueCol,
        path: formatLabPath(problem.path),
        message: problem.message,
      };
    }
    const node = problem.target === 'key' ? findKeyNode(doc, problem.path) : findNode(doc, problem.path).node;
    const { line, col } = positionOf(node, lineCounter);
    return { file, line, col, path: formatLabPath(problem.path), message: problem.message };
  });
  // file order for the file's problems; overrides (file `--set`) first
  return located.sort((a, b) => (a.file === b.file ? a.line - b.line || a.col - b.col : a.file === '--set' ? -1 : 1));
}

function positionOfPath(doc: Document, lineCounter: LineCounter, path: readonly PropertyKey[]): SourcePos {
  return positionOf(findNode(doc, path).node, lineCounter);
}

function pathAtOffsetSafe(doc: Document, offset: number): PropertyKey[] {
  try {
    return pathAtOffset(doc, offset);
  } catch {
    return [];
  }
}

function describeYamlError(code: string, message: string, key: PropertyKey | undefined): string {
  const first = message.split('\n')[0] ?? message;
  switch (code) {
    case 'DUPLICATE_KEY':
      return `duplicate key${typeof key === 'string' ? ` ${quote(key)}` : ''}; each key may appear once in a mapping, remove or rename one of them`;
    case 'TAB_AS_INDENT':
      return 'YAML syntax: tabs are not allowed for indentation; indent with spaces';
    default:
      return `YAML syntax: ${clip(first.replace(/ at line \d+, column \d+:?$/, ''), 120)}; fix the YAML near here`;
  }
}
