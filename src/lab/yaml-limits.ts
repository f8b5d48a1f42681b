import { Parser, isAlias, isMap, isPair, isScalar, isSeq, type CST, type Document, type Node } from 'yaml';
import type { PathProblem } from './lab-issues.js';
import { MAX_YAML_ALIASES, MAX_YAML_DEPTH, PROTOTYPE_KEYS } from './lab-limits.js';
import { quote } from './quote-token.js';

/** Where a YAML text nests deeper than MAX_YAML_DEPTH: the offset of the first too-deep collection and its path. */
export interface DepthViolation {
  readonly offset: number;
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

/**
 * Checks nesting depth on yaml's concrete syntax tree, before the document is composed: composing
 * (parseDocument) and toJS recurse, and a 2,000-4,000-deep file overflows the stack there. The CST
 * parser keeps its own stack, and this walk is iterative.
 */
export function checkYamlDepth(text: string): DepthViolation | undefined {
  type Entry = { token: CST.Token | null | undefined; path: PropertyKey[]; depth: number };
  const stack: Entry[] = [];
  for (const token of new Parser().parse(text)) {
    if (token.type === 'document') stack.push({ token: token.value, path: [], depth: 0 });
    while (stack.length > 0) {
      const { token: node, path, depth } = stack.pop() as Entry;
      if (node === null || node === undefined) continue;
      if (node.type !== 'block-map' && node.type !== 'block-seq' && node.type !== 'flow-collection') continue;
      if (depth + 1 > MAX_YAML_DEPTH) {
        const message = `mappings and lists nest more than ${MAX_YAML_DEPTH} deep here; a lab file nests about 5 deep, flatten it`;
        return { offset: node.offset, path, message };
      }
      const isMapping = node.type === 'block-map' || (node.type === 'flow-collection' && node.start.source === '{');
      const children: Entry[] = [];
      node.items.forEach((item, index) => {
        const key = 'key' in item ? item.key : undefined;
        const keyText = key !== null && key !== undefined && 'source' in key && typeof key.source === 'string' ? key.source : '?';
        const childPath = [...path, isMapping ? keyText : index];
        if (key !== null && key !== undefined) children.push({ token: key, path: childPath, depth: depth + 1 });
        children.push({ token: item.value, path: childPath, depth: depth + 1 });
      });
      for (let i = children.length - 1; i >= 0; i--) stack.push(children[i] as Entry);
    }
  }
  return undefined;
}

/**
 * Checks a parsed YAML document against the other structural limits before it is turned into JavaScript
 * values (an alias bomb expands exponentially in toJS; prototype keys would reach Object.prototype).
 * Walks the node tree with an explicit stack, never recursively (checkYamlDepth ran first). Returns at
 * most one problem per kind (the first in document order), so a hostile file gives a short answer,
 * and where the first alias is (an alias bomb is caught by toJS; its problem is reported there).
 */
export function checkYamlLimits(doc: Document): { problems: PathProblem[]; firstAliasPath?: PropertyKey[] } {
  const problems: PathProblem[] = [];
  let firstAliasPath: PropertyKey[] | undefined;
  let aliasCount = 0;
  let prototypeKey = false;
  const stack: { node: unknown; path: PropertyKey[]; depth: number }[] = [{ node: doc.contents, path: [], depth: 0 }];
  while (stack.length > 0) {
    const { node, path, depth } = stack.pop() as { node: unknown; path: PropertyKey[]; depth: number };
    if (isAlias(node)) {
      aliasCount++;
      firstAliasPath ??= path;
      if (aliasCount === MAX_YAML_ALIASES + 1) {
        const message = `more than ${MAX_YAML_ALIASES} YAML aliases (*name); a lab file needs few or none, write the values out`;
        problems.push({ path, target: 'value', message });
      }
      continue;
    }
    if (!isMap(node) && !isSeq(node)) continue;
    // push in reverse so items are visited in document order
    const children: { node: unknown; path: PropertyKey[]; depth: number }[] = [];
    if (isMap(node)) {
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const key = pair.key as Node | null;
        const keyText = isScalar(key) ? String(key.value) : undefined;
        if (keyText !== undefined && PROTOTYPE_KEYS.has(keyText) && !prototypeKey) {
          prototypeKey = true;
          problems.push({ path: [...path, keyText], target: 'key', message: `key ${quote(keyText)} is not allowed (a JavaScript prototype name); rename it` });
        }
        if (key !== null && !isScalar(key)) children.push({ node: key, path: [...path, '?'], depth: depth + 1 });
        children.push({ node: pair.value, path: [...path, keyText ?? '?'], depth: depth + 1 });
      }
    } else {
      node.items.forEach((item, index) => children.push({ node: item, path: [...path, index], depth: depth + 1 }));
    }
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i] as { node: unknown; path: PropertyKey[]; depth: number });
  }
  return { problems, ...(firstAliasPath !== undefined && { firstAliasPath }) };
}
