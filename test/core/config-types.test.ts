import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import type { SchemaObject } from '../../src/core/config/index.js';
import { sidecarPolicySchema } from '../../src/mesh/policy-schema.js';
import { natsOptionsSchema } from '../../src/messaging/drivers/nats/options.js';
import { postgresOptionsSchema } from '../../src/messaging/drivers/postgres/options.js';
import { rabbitOptionsSchema } from '../../src/messaging/drivers/rabbitmq/options.js';
import { redisOptionsSchema } from '../../src/messaging/drivers/redis/options.js';
import { sqliteOptionsSchema } from '../../src/messaging/drivers/sqlite/options.js';
import { sluiceSchema } from '../../src/runtime/config/index.js';
import { disagreements, exportedType } from '../support/schema-agreement.js';

const src = (path: string) => fileURLToPath(new URL(`../../src/${path}`, import.meta.url));

// Each hand-written config type beside the schema that validates what it describes. The
// types stay hand-written for their comments and names; this keeps them from drifting.
const pairs: [file: string, type: string, schema: SchemaObject][] = [
  ['runtime/config/config.ts', 'SluiceConfig', sluiceSchema],
  ['mesh/policy.ts', 'SidecarPolicyConfig', sidecarPolicySchema],
  ['messaging/drivers/nats/options.ts', 'NatsDriverOptions', natsOptionsSchema],
  ['messaging/drivers/postgres/options.ts', 'PostgresDriverOptions', postgresOptionsSchema],
  ['messaging/drivers/rabbitmq/options.ts', 'RabbitDriverOptions', rabbitOptionsSchema],
  ['messaging/drivers/redis/options.ts', 'RedisDriverOptions', redisOptionsSchema],
  ['messaging/drivers/sqlite/options.ts', 'SqliteDriverOptions', sqliteOptionsSchema],
];

const program = ts.createProgram(
  pairs.map(([file]) => src(file)),
  {
    strict: true,
    exactOptionalPropertyTypes: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    skipLibCheck: true,
    noEmit: true,
    types: ['node'],
  },
);

describe('config types and the schemas that validate them', () => {
  for (const [file, name, schema] of pairs) {
    it(`${name} says what its schema takes`, () => {
      const type = exportedType(program, src(file), name);
      assert.deepEqual(disagreements(schema, type, program.getTypeChecker()), []);
    });
  }

  it('sees a drift: a key, a required key, a kind, an enum member', () => {
    const probe = ts.createSourceFile(
      'probe.ts',
      "export interface Probe { a?: string; b: number; c?: 'x' | 'y'; d?: { e: boolean }[] }",
      ts.ScriptTarget.ES2022,
    );
    const host = ts.createCompilerHost({ strict: true });
    const getSourceFile = host.getSourceFile;
    host.getSourceFile = (name, ...rest) =>
      name === 'probe.ts' ? probe : getSourceFile.call(host, name, ...rest);
    const probeProgram = ts.createProgram(['probe.ts'], { strict: true }, host);
    const type = exportedType(probeProgram, 'probe.ts', 'Probe');
    const schema = {
      type: 'object',
      additionalProperties: false,
      required: ['a'],
      properties: {
        a: { type: 'string' },
        b: { type: 'string' },
        c: { enum: ['x', 'z'] },
        d: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            properties: { f: { type: 'boolean' } },
          },
        },
      },
    };
    assert.deepEqual(disagreements(schema, type, probeProgram.getTypeChecker()), [
      'a: required in the schema only',
      'b: required in the type only',
      'b: the schema takes string, the type number',
      'c: the schema takes "x" | "z", the type "x" | "y"',
      'd[].f: in the schema only',
      'd[].e: in the type only',
    ]);
  });
});
