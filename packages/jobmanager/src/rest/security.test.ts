import { describe, expect, it } from 'vitest';
import { RestRequestError, savepointRequest, stopRequest } from './requests.js';
import { allowedHostProblem, allowedHostValues, checkBearerToken, checkHost, checkJsonContentType, checkOrigin, isLoopback, parseAllowedHost } from './security.js';

/** The refusal `fn` throws, as status and code; undefined when it lets the request through. */
function refusal(fn: () => void): { status: number; code: string } | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    if (!(err instanceof RestRequestError)) throw err;
    return { status: err.status, code: err.code };
  }
}

describe('parseAllowedHost', () => {
  it.each<[string, unknown]>([
    ['myhost', { name: 'myhost' }],
    ['MyHost.Example.', { name: 'myhost.example.' }],
    ['myhost:9000', { name: 'myhost', port: 9000 }],
    ['  box_1.lan  ', { name: 'box_1.lan' }],
    ['10.0.0.5', { name: '10.0.0.5' }],
    ['10.0.0.5:8081', { name: '10.0.0.5', port: 8081 }],
    ['[::1]', { name: '[::1]' }],
    ['[fe80::1]:8081', { name: '[fe80::1]', port: 8081 }],
  ])('accepts %s', (raw, parsed) => {
    expect(parseAllowedHost(raw)).toEqual(parsed);
    expect(allowedHostProblem(raw)).toBeUndefined();
  });

  it.each<[string, string]>([
    ['', 'expected a host name such as myhost or myhost:8081'],
    ['http://myhost', 'expected a host name with an optional :port, without scheme or path (e.g. myhost:8081)'],
    ['myhost/x', 'expected a host name with an optional :port, without scheme or path (e.g. myhost:8081)'],
    ['my host', 'expected a host name with an optional :port, without scheme or path (e.g. myhost:8081)'],
    ['::1', 'write an IPv6 address in brackets, e.g. [::1]:8081'],
    ['[nope]', "'[nope]' is not an IPv6 address"],
    ['*', "'*' is not a host name or an IPv4 address"],
    ['-bad.example', "'-bad.example' is not a host name or an IPv4 address"],
    ['myhost:0', "port '0' is not a number in 1..65535"],
    ['myhost:70000', "port '70000' is not a number in 1..65535"],
    ['myhost:', "port '' is not a number in 1..65535"],
  ])('refuses %j: %s', (raw, problem) => {
    expect(allowedHostProblem(raw)).toBe(problem);
    expect(() => parseAllowedHost(raw)).toThrow(`invalid allowed host '${raw}': ${problem}`);
  });
});

describe('allowedHostValues', () => {
  it('answers to the bound address and, on loopback, to every loopback name, with the bound port', () => {
    expect([...allowedHostValues('127.0.0.1', 8081, [])].sort()).toEqual(['127.0.0.1:8081', '[::1]:8081', 'localhost:8081']);
    expect([...allowedHostValues('::1', 8081, [])].sort()).toEqual(['127.0.0.1:8081', '[::1]:8081', 'localhost:8081']);
  });

  it('adds configured names (with the bound port unless they name one), and bare names on port 80', () => {
    const values = allowedHostValues('10.1.2.3', 80, [{ name: 'box' }, { name: 'tunnel', port: 9000 }], ['192.168.0.7', 'fe80::1']);
    expect([...values].sort()).toEqual(['10.1.2.3', '10.1.2.3:80', '192.168.0.7', '192.168.0.7:80', '[fe80::1]', '[fe80::1]:80', 'box', 'box:80', 'tunnel:9000']);
  });

  it.each<[string, boolean]>([
    ['127.0.0.1', true],
    ['127.3.4.5', true],
    ['::1', true],
    ['[::1]', true],
    ['::ffff:127.0.0.1', true],
    ['localhost', true],
    ['0.0.0.0', false],
    ['10.0.0.1', false],
    ['localhost.evil.example', false],
  ])('isLoopback(%s) = %s', (host, loopback) => expect(isLoopback(host)).toBe(loopback));
});

describe('checkHost', () => {
  const allowed = allowedHostValues('127.0.0.1', 8081, [{ name: 'devbox' }]);
  it.each<[string | undefined, number | undefined]>([
    ['127.0.0.1:8081', undefined],
    ['LOCALHOST:8081', undefined],
    ['[::1]:8081', undefined],
    ['devbox:8081', undefined],
    ['evil.example:8081', 403],
    ['127.0.0.1:8082', 403],
    ['127.0.0.1', 403],
    ['localhost.evil.example:8081', 403],
    ['devbox:9000', 403],
    ['', 403],
    [undefined, 403],
  ])('Host %j → %s', (host, status) => {
    expect(refusal(() => checkHost(host, allowed))?.status).toBe(status);
  });

  it('names the Host, the names it answers to and how to allow another', () => {
    expect(() => checkHost('evil.example:8081', allowedHostValues('127.0.0.1', 8081, []))).toThrow(
      "Host 'evil.example:8081' refused: this API answers to 127.0.0.1:8081, localhost:8081, [::1]:8081, and other names are refused as a defence against DNS rebinding. " +
        "If you reach it through that name on purpose (a tunnel or proxy), allow it with 'sluice run --rest-allowed-host evil.example:8081' (REST server option allowedHosts)",
    );
    expect(() => checkHost(undefined, allowedHostValues('127.0.0.1', 8081, []))).toThrow(/^request without a Host header refused: HTTP\/1\.1 requires one/);
  });
});

describe('checkOrigin', () => {
  const allowed = allowedHostValues('127.0.0.1', 8081, []);
  it.each<[string | undefined, string | undefined, number | undefined]>([
    [undefined, undefined, undefined],
    ['http://127.0.0.1:8081', undefined, undefined],
    ['http://localhost:8081', 'same-origin', undefined],
    [undefined, 'none', undefined],
    ['https://evil.example', 'cross-site', 403],
    ['https://evil.example', undefined, 403],
    ['http://localhost:3000', undefined, 403],
    ['https://127.0.0.1:8081', undefined, 403],
    ['null', undefined, 403],
    [undefined, 'cross-site', 403],
    [undefined, 'same-site', 403],
  ])('Origin %j, Sec-Fetch-Site %j → %s', (origin, site, status) => {
    expect(refusal(() => checkOrigin(origin, site, allowed))).toEqual(status === undefined ? undefined : { status, code: 'FORBIDDEN_ORIGIN' });
  });
});

describe('checkJsonContentType', () => {
  it.each<[string | undefined, boolean]>([
    ['application/json', true],
    ['Application/JSON', true],
    ['application/json; charset=utf-8', true],
    ['application/json;charset="UTF-8"', true],
    ['application/json; charset=utf8', true],
    ['application/json; charset=iso-8859-1', false],
    ['text/plain', false],
    ['text/plain; charset=utf-8', false],
    ['application/x-www-form-urlencoded', false],
    ['multipart/form-data; boundary=x', false],
    ['application/jsonx', false],
    ['', false],
    [undefined, false],
  ])('%j → accepted %s', (type, accepted) => {
    expect(refusal(() => checkJsonContentType(type))).toEqual(accepted ? undefined : { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
  });
});

describe('checkBearerToken', () => {
  const token = 'x'.repeat(43);
  it.each<[string | undefined, boolean]>([
    [`Bearer ${token}`, true],
    [`bearer  ${token} `, true],
    [`Bearer ${token}y`, false],
    [`Bearer ${'x'.repeat(42)}`, false],
    [`Basic ${token}`, false],
    [token, false],
    ['Bearer', false],
    ['', false],
    [undefined, false],
  ])('%j → accepted %s', (header, accepted) => {
    expect(refusal(() => checkBearerToken(header, token, 'hint'))).toEqual(accepted ? undefined : { status: 401, code: 'UNAUTHORIZED' });
  });

  it('answers with WWW-Authenticate: Bearer and the hint, telling a missing token from a wrong one', () => {
    const missing = (() => {
      try {
        checkBearerToken(undefined, token, 'the token is in ~/.sluice/rest-8081.token');
      } catch (err) {
        return err as RestRequestError;
      }
    })();
    expect(missing?.headers).toEqual({ 'WWW-Authenticate': 'Bearer realm="sluice"' });
    expect(missing?.message).toBe("missing bearer token: POST requests need 'Authorization: Bearer <token>'; the token is in ~/.sluice/rest-8081.token");
    expect(() => checkBearerToken('Bearer nope', token, 'hint')).toThrow('wrong bearer token; hint');
  });
});

describe('targetDirectory', () => {
  it.each(['/tmp/x/../../../etc/sluice-sp', '/..', '/sp/..', '/a/../b', '/a\\..\\b'])('refuses %j with SAVEPOINT_TARGET before anything normalises it', (dir) => {
    for (const parse of [savepointRequest, stopRequest]) {
      expect(refusal(() => parse({ targetDirectory: dir }))).toEqual({ status: 400, code: 'SAVEPOINT_TARGET' });
    }
    expect(() => savepointRequest({ targetDirectory: dir })).toThrow(`field 'targetDirectory' must not contain '..' segments, got '${dir}'`);
  });

  it.each(['/sp/..x', '/sp/x..', '/sp/...', '/sp/./x', '/a//b/'])('accepts %j (no ".." segment)', (dir) => {
    expect(savepointRequest({ targetDirectory: dir })).toEqual({ targetDirectory: dir });
  });

  it('refuses a NUL character', () => {
    expect(refusal(() => savepointRequest({ targetDirectory: '/sp\0x' }))).toEqual({ status: 400, code: 'BAD_REQUEST' });
  });
});
