import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage } from './index.js';
import { GOLDEN_CASES } from './golden-cases.test-helper.js';

// Fixtures made by Google's Python protobuf from our .proto files (fixtures/make-fixtures.py):
// an encoder that shares no code with protobufjs or with our schema walk.
const GOLDEN = new URL('../fixtures/golden/', import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('manifest.json', GOLDEN), 'utf8')) as { cases: Record<string, string> };
const pb = (name: string): Buffer => readFileSync(new URL(`${name}.pb`, GOLDEN));
const json = (name: string): Buffer => readFileSync(new URL(`${name}.json`, GOLDEN));

/**
 * JSON equality up to the one legitimate difference: Python's json_format writes int64/uint64
 * as strings, Mesos (and we) write them as numbers when exact. Keys must match exactly.
 */
function expectSameJson(ours: unknown, theirs: unknown, path = ''): void {
  if (typeof ours === 'number' && typeof theirs === 'string' && /^-?\d+$/.test(theirs)) {
    expect(BigInt(ours), path).toBe(BigInt(theirs));
  } else if (Array.isArray(ours) && Array.isArray(theirs)) {
    expect(ours.length, path).toBe(theirs.length);
    ours.forEach((item, i) => expectSameJson(item, theirs[i], `${path}[${i}]`));
  } else if (typeof ours === 'object' && ours !== null && typeof theirs === 'object' && theirs !== null) {
    expect(Object.keys(ours).sort(), path).toEqual(Object.keys(theirs).sort());
    for (const [key, value] of Object.entries(ours)) expectSameJson(value, (theirs as Record<string, unknown>)[key], `${path}.${key}`);
  } else {
    expect(ours, path).toEqual(theirs);
  }
}

describe('golden fixtures from Python protobuf', () => {
  it('covers the same cases as the generator', () => {
    expect(Object.keys(GOLDEN_CASES).sort()).toEqual(Object.keys(manifest.cases).sort());
    for (const [name, c] of Object.entries(GOLDEN_CASES)) expect(manifest.cases[name], name).toBe(c.type);
  });

  for (const [name, c] of Object.entries(GOLDEN_CASES)) {
    describe(name, () => {
      // Both sides serialize fields in field-number order and map entries in key order (Python
      // with deterministic=True, we in insertion order, and the cases insert keys sorted), so the
      // bytes must be identical, not merely decode to the same message.
      it('encodes to the same protobuf bytes', () => {
        expect(encodeMessage(c.type, c.value, 'protobuf').toString('hex')).toBe(pb(name).toString('hex'));
      });

      it('decodes their protobuf bytes to the expected object', () => {
        expect(decodeMessage(c.type, pb(name), 'protobuf')).toEqual(c.value);
      });

      it('decodes their JSON to the expected object', () => {
        expect(decodeMessage(c.type, json(name), 'json')).toEqual(c.value);
      });

      it('encodes JSON that matches theirs field for field', () => {
        expectSameJson(JSON.parse(encodeMessage(c.type, c.value, 'json').toString('utf8')), JSON.parse(json(name).toString('utf8')));
      });
    });
  }
});
