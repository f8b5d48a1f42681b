import { z } from 'zod';
import { EXERCISE_SECTION_SCHEMA } from './exercise-kinds.js';
import { buildFullLabSchema } from './lab-kinds.js';

/**
 * The lab file format as JSON Schema (draft 2020-12), generated from the zod schemas of lab-kinds.ts.
 * Committed as schema/lab.schema.json; a unit test fails when it is stale (regenerate with
 * `UPDATE_SCHEMA=1 npx vitest run test/unit/lab/lab-json-schema.test.ts`, or print it from the CLI).
 * Editors pick it up from a first line `# yaml-language-server: $schema=../schema/lab.schema.json`.
 * Checks that JSON Schema cannot say (durations, state names, flag order, names across items) are
 * enforced by loadLabText only.
 */
export function buildLabJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(buildFullLabSchema(EXERCISE_SECTION_SCHEMA), { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return {
    $schema: schema['$schema'],
    $id: 'https://tcplab.dev/schema/lab.schema.json',
    title: 'tcplab lab file',
    description: 'A TCP failure experiment: hosts, steps (socket operations, iptables rules, waits) and expectations.',
    ...Object.fromEntries(Object.entries(schema).filter(([key]) => key !== '$schema')),
  };
}

/** The committed text of schema/lab.schema.json (2-space JSON and a final newline). */
export function formatLabJsonSchema(): string {
  return `${JSON.stringify(buildLabJsonSchema(), null, 2)}\n`;
}
