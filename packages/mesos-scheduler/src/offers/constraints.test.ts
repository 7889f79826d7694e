import { ConfigurationError } from '@sluice/common';
import type { Attribute } from '@sluice/mesos-proto';
import { describe, expect, it } from 'vitest';
import { stringifyAttribute } from './attributes.js';
import { parseConstraints } from './constraints.js';
import type { PlacementConstraint } from './types.js';

describe('stringifyAttribute (Marathon rendering)', () => {
  const cases: [string, Attribute, string][] = [
    ['TEXT raw', { name: 'rack', type: 'TEXT', text: { value: 'r 1' } }, 'r 1'],
    ['SCALAR integer', { name: 'cores', type: 'SCALAR', scalar: { value: 4 } }, '4'],
    ['SCALAR fraction, at most 3 digits', { name: 'x', type: 'SCALAR', scalar: { value: 0.12345 } }, '0.123'],
    ['SCALAR negative', { name: 'x', type: 'SCALAR', scalar: { value: -2.5 } }, '-2.5'],
    ['SCALAR grouped thousands, as Java NumberFormat', { name: 'x', type: 'SCALAR', scalar: { value: 1024 } }, '1,024'],
    ['RANGES sorted', { name: 'p', type: 'RANGES', ranges: { range: [{ begin: 9, end: 12 }, { begin: 1, end: 3 }] } }, '[1-3,9-12]'],
    ['SET sorted', { name: 's', type: 'SET', set: { item: ['ssd', 'gpu', 'arm'] } }, '{arm,gpu,ssd}'],
  ];
  for (const [name, attribute, expected] of cases) {
    it(name, () => expect(stringifyAttribute(attribute)).toBe(expected));
  }
});

describe('parseConstraints', () => {
  const accepted: [string, string, PlacementConstraint[]][] = [
    ['empty text: none', '  ', []],
    ['Marathon JSON, with and without values', '[["hostname","UNIQUE"],["rack","GROUP_BY","3"],["@zone","GROUP_BY"]]', [
      { field: 'hostname', operator: 'UNIQUE' },
      { field: 'rack', operator: 'GROUP_BY', value: '3' },
      { field: '@zone', operator: 'GROUP_BY' },
    ]],
    ['every operator', '[["a","LIKE","r[12]"],["a","UNLIKE","x.*"],["a","IS","v"],["a","IN","v, w"],["a","CLUSTER"],["a","CLUSTER","v"],["a","MAX_PER","2"]]', [
      { field: 'a', operator: 'LIKE', value: 'r[12]' },
      { field: 'a', operator: 'UNLIKE', value: 'x.*' },
      { field: 'a', operator: 'IS', value: 'v' },
      { field: 'a', operator: 'IN', value: 'v, w' },
      { field: 'a', operator: 'CLUSTER' },
      { field: 'a', operator: 'CLUSTER', value: 'v' },
      { field: 'a', operator: 'MAX_PER', value: '2' },
    ]],
    ['operators in any case', '[["@region","is","eu"]]', [{ field: '@region', operator: 'IS', value: 'eu' }]],
    ["Flink's hard host-attribute shorthand: each pair is IS", 'az:eu-west-1a, series:t2', [
      { field: 'az', operator: 'IS', value: 'eu-west-1a' },
      { field: 'series', operator: 'IS', value: 't2' },
    ]],
    ['a shorthand value may hold a colon', 'endpoint:host:9000', [{ field: 'endpoint', operator: 'IS', value: 'host:9000' }]],
  ];
  for (const [name, text, expected] of accepted) {
    it(`accepts ${name}`, () => expect(parseConstraints(text)).toEqual(expected));
  }

  const rejected: [string, string, RegExp][] = [
    ['an unknown operator', '[["rack","NEAR","x"]]', /constraint #1 'rack NEAR x': unknown operator 'NEAR'/],
    ['a missing value', '[["hostname","UNIQUE"],["rack","LIKE"]]', /constraint #2 'rack LIKE': LIKE needs a value/],
    ['IS without value', '[["rack","IS"]]', /IS needs a value/],
    ['IN with an empty item', '[["rack","IN","a,,b"]]', /IN list 'a,,b' has an empty item/],
    ['an extra value', '[["hostname","UNIQUE","x"]]', /UNIQUE takes no value, got 'x'/],
    ['MAX_PER of 0', '[["rack","MAX_PER","0"]]', /'0' is not a positive integer/],
    ['MAX_PER not a number', '[["rack","MAX_PER","two"]]', /'two' is not a positive integer/],
    ['MAX_PER without value', '[["rack","MAX_PER"]]', /MAX_PER needs a value/],
    ['GROUP_BY with a fraction', '[["rack","GROUP_BY","1.5"]]', /'1.5' is not a positive integer/],
    ['an invalid regex', '[["rack","LIKE","r[1"]]', /'r\[1' is not a valid regular expression/],
    ['an element of one string', '[["rack"]]', /constraint #1 \["rack"\] must be an array of 2 or 3 strings/],
    ['a number as value', '[["rack","MAX_PER",2]]', /must be an array of 2 or 3 strings/],
    ['not JSON', '[["rack","UNIQUE"]', /are not valid JSON/],
    ['an unknown @ field', '[["@rack","UNIQUE"]]', /unknown field @rack/],
    ['a shorthand pair without value', 'az:eu,series', /placement constraint 'series' in 'az:eu,series' is not attr:value/],
  ];
  for (const [name, text, message] of rejected) {
    it(`rejects ${name}, naming it and the accepted forms`, () => {
      let error: unknown;
      try {
        parseConstraints(text);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigurationError);
      expect((error as ConfigurationError).code).toBe('CONFIGURATION');
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).toMatch(/accepted forms: Marathon JSON .* or Flink's shorthand attr:value/);
    });
  }
});
