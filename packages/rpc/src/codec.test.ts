import { describe, expect, it } from 'vitest';
import { decodePayload, encodePayload } from './codec.js';

const roundTrip = (v: unknown): unknown => {
  const { json, tagged } = encodePayload(v);
  return decodePayload(json, tagged);
};

describe('payload codec', () => {
  it.each([
    ['null', null],
    ['numbers', [0, -1.5, 2 ** 53, Number.MAX_VALUE]],
    ['strings', ['', 'ünïcødé ✓', '\u0000\n"']],
    ['nested objects', { a: { b: [{ c: true }, false, null] } }],
    ['non-finite numbers', [NaN, Infinity, -Infinity]],
    ['bigint', { offset: 2n ** 70n, neg: -5n }],
    ['Uint8Array', { state: new Uint8Array([0, 1, 254, 255]) }],
    ['empty Uint8Array', new Uint8Array(0)],
    ['Date', { at: new Date(1_704_070_139_160) }],
    ['undefined array elements (trailing optional args)', ['dir', undefined]],
    ['a user object with the tag key', { $sluice: 'big', v: '1', inner: { $sluice: 1n } }],
  ])('round-trips %s', (_name, value) => {
    expect(roundTrip(value)).toStrictEqual(value);
  });

  it('carries a null-prototype object as a plain object', () => {
    expect(roundTrip(Object.assign(Object.create(null) as object, { x: 1 }))).toStrictEqual({ x: 1 });
  });

  it('keeps undefined elements as undefined, not null or holes', () => {
    const out = roundTrip([1, undefined, [undefined]]) as unknown[];
    expect(out).toHaveLength(3);
    expect(1 in out).toBe(true);
    expect(out[1]).toBeUndefined();
    expect((out[2] as unknown[])[0]).toBeUndefined();
  });

  it('leaves an absent optional property absent and carries a void result as nothing', () => {
    expect(roundTrip({ a: 1, b: undefined })).toStrictEqual({ a: 1 });
    expect(encodePayload(undefined).json).toBe('');
    expect(roundTrip(undefined)).toBeUndefined();
  });

  it('turns a Buffer into a Uint8Array with the same bytes', () => {
    const out = roundTrip({ b: Buffer.from('hi') }) as { b: Uint8Array };
    expect(out.b).toBeInstanceOf(Uint8Array);
    expect([...out.b]).toStrictEqual([104, 105]);
  });

  it('writes plain JSON when nothing needs a tag', () => {
    expect(encodePayload({ a: [1, 'x'] })).toStrictEqual({ json: '{"a":[1,"x"]}', tagged: false });
  });

  it.each([
    ['a Map', new Map([[1, 2]]), /a Map/],
    ['a Set', { s: new Set([1]) }, /key "s" is a Set/],
    ['a class instance', [new (class Slot {})()], /a Slot/],
    ['a function', { f: () => 1 }, /key "f" is function/],
    ['a symbol', { s: Symbol('x') }, /symbol/],
  ])('refuses %s instead of sending it changed', (_name, value, message) => {
    expect(() => encodePayload(value)).toThrow(expect.objectContaining({ code: 'RPC_NOT_PLAIN_DATA', retriable: false, message: expect.stringMatching(message) }));
  });

  it('drops __proto__ keys, so a payload cannot reach a prototype', () => {
    const out = decodePayload('{"a":{"__proto__":{"polluted":true}},"__proto__":{"x":1}}', false) as Record<string, unknown>;
    expect(Object.keys(out)).toStrictEqual(['a']);
    const target = Object.assign({}, out.a);
    expect((target as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses an unknown tag with a protocol error', () => {
    expect(() => decodePayload('{"$sluice":"mystery"}', true)).toThrow(expect.objectContaining({ code: 'RPC_PROTOCOL' }));
  });
});
