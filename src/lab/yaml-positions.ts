import { isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';

/** A located YAML node: the node itself and whether it is the one asked for or the deepest existing ancestor. */
export interface FoundNode {
  readonly node: Node | null;
  /** True when the full path exists; false when `node` is the deepest ancestor that does. */
  readonly exact: boolean;
}

/** Finds the node at `path` (map keys and sequence indices) or the deepest ancestor that exists. */
export function findNode(doc: Document, path: readonly PropertyKey[]): FoundNode {
  let node: Node | null = doc.contents ?? null;
  for (const segment of path) {
    const next = childOf(node, segment);
    if (next === undefined) return { node, exact: false };
    if (next.value === null) return { node: next.key ?? node, exact: false };
    node = next.value;
  }
  return { node, exact: true };
}

/** Finds the key node of the last path segment (for "unknown key" problems), or the deepest node that exists. */
export function findKeyNode(doc: Document, path: readonly PropertyKey[]): Node | null {
  const parent = findNode(doc, path.slice(0, -1));
  const last = path[path.length - 1];
  if (!parent.exact || last === undefined) return parent.node;
  const child = childOf(parent.node, last);
  return child?.key ?? parent.node;
}

function childOf(node: Node | null, segment: PropertyKey): { key: Node | null; value: Node | null } | undefined {
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = pair.key as Node | null;
      // Only a scalar key can name a path segment; a map or sequence used as a key never does.
      const value: unknown = isScalar(key) ? key.value : undefined;
      const text = typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;
      if (text !== undefined && text === String(segment)) {
        return { key, value: (pair.value as Node | null) ?? null };
      }
    }
    return undefined;
  }
  if (isSeq(node) && typeof segment === 'number') {
    const item = node.items[segment] as Node | null | undefined;
    return item === undefined ? undefined : { key: null, value: item };
  }
  return undefined;
}

/** 1-based line and column of a node's start (1:1 when there is no node, e.g. an empty file). */
export function positionOf(node: Node | null, lineCounter: LineCounter): { line: number; col: number } {
  const offset = node?.range?.[0] ?? 0;
  return lineCounter.linePos(offset);
}

/** The path of the deepest map entry or sequence item that contains `offset` (for YAML syntax errors). */
export function pathAtOffset(doc: Document, offset: number): PropertyKey[] {
  const path: PropertyKey[] = [];
  let node: Node | null = doc.contents ?? null;
  for (;;) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && containsOffset(p.key as Node | null, p.value as Node | null, offset));
      if (pair === undefined) return path;
      const key = pair.key as Node | null;
      path.push(isScalar(key) ? String(key.value) : '?');
      node = (pair.value as Node | null) ?? null;
    } else if (isSeq(node)) {
      const index = node.items.findIndex((item) => containsOffset(item as Node | null, null, offset));
      if (index < 0) return path;
      path.push(index);
      node = node.items[index] as Node | null;
    } else {
      return path;
    }
  }
}

function containsOffset(first: Node | null, last: Node | null, offset: number): boolean {
  const start = first?.range?.[0] ?? last?.range?.[0];
  const end = (last ?? first)?.range?.[2];
  return start !== undefined && end !== undefined && start <= offset && offset <= end;
}
