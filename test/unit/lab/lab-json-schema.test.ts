import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildLabJsonSchema, formatLabJsonSchema } from '../../../src/lab/lab-json-schema.js';

const SCHEMA_FILE = 'schema/lab.schema.json';

describe('schema/lab.schema.json', () => {
  it('is up to date with the zod schema (UPDATE_SCHEMA=1 regenerates it)', () => {
    const generated = formatLabJsonSchema();
    if (process.env['UPDATE_SCHEMA'] === '1') {
      mkdirSync('schema', { recursive: true });
      writeFileSync(SCHEMA_FILE, generated);
    }
    expect(existsSync(SCHEMA_FILE), `${SCHEMA_FILE} is missing; run UPDATE_SCHEMA=1 npx vitest run test/unit/lab/lab-json-schema.test.ts`).toBe(true);
    expect(readFileSync(SCHEMA_FILE, 'utf8')).toBe(generated);
  });

  it('describes the top level, the step kinds and strict items', () => {
    const schema = buildLabJsonSchema() as {
      required: string[];
      additionalProperties: boolean;
      properties: { hosts: { minProperties: number; propertyNames: { pattern: string } }; steps: { items: { anyOf: Array<{ required: string[] }> } } };
    };
    expect(schema.required).toStrictEqual(['title', 'description', 'hosts', 'steps']);
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.hosts.minProperties).toBe(1);
    expect(schema.properties.hosts.propertyNames.pattern).toBe('^[a-z][a-z0-9-]*$');
    expect(schema.properties.steps.items.anyOf.map((option) => option.required[0])).toStrictEqual([
      'listen',
      'connect',
      'setsockopt',
      'pause',
      'resume',
      'accept',
      'unlisten',
      'send',
      'shutdown',
      'close',
      'abort',
      'rule',
      'unrule',
      'wait',
      'sleep',
      'hold',
      'release',
      'flood',
      'inject',
    ]);
  });
});
