/**
 * What the REST API checks before it acts on a request, as pure functions over header values:
 * the Host (DNS rebinding), the Origin and Sec-Fetch-Site (cross-site browser requests), the
 * Content-Type of POSTs (browsers send text/plain and form bodies across sites without a CORS
 * preflight) and the bearer token of POSTs. A refusal is a RestRequestError carrying its status.
 *
 * The CLI imports this module on its own (`@sluice/jobmanager/rest-security`) to validate
 * `--rest-allowed-host` at the edge without loading the engine.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { ConfigurationError } from '@sluice/common';
import { RestRequestError } from './requests.js';

/** An extra name the API answers to: `name` (with the API's own port) or `name:port`. */
export interface AllowedHost {
  /** Lower case; an IPv6 address in brackets. */
  name: string;
  port?: number;
}

const HOSTNAME = /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/;

/** Parses `name`, `name:port`, `1.2.3.4[:port]` or `[::1][:port]`; throws ConfigurationError naming what is wrong. */
export function parseAllowedHost(raw: string): AllowedHost {
  const parsed = parse(raw);
  if (typeof parsed === 'string') throw new ConfigurationError(`invalid allowed host '${raw}': ${parsed}`);
  return parsed;
}

/** What is wrong with `raw` as an allowed host, or undefined when nothing is. */
export function allowedHostProblem(raw: string): string | undefined {
  const parsed = parse(raw);
  return typeof parsed === 'string' ? parsed : undefined;
}

function parse(raw: string): AllowedHost | string {
  const text = raw.trim().toLowerCase();
  if (text === '') return 'expected a host name such as myhost or myhost:8081';
  if (/[/\s@?#]/.test(text) || text.includes('://')) return 'expected a host name with an optional :port, without scheme or path (e.g. myhost:8081)';
  let name: string;
  let portText: string | undefined;
  const v6 = /^(\[[^\]]+\])(?::(.*))?$/.exec(text);
  if (v6 !== null) {
    name = v6[1]!;
    portText = v6[2];
    if (isIP(name.slice(1, -1)) !== 6) return `'${name}' is not an IPv6 address`;
  } else {
    const colon = text.lastIndexOf(':');
    if (colon >= 0 && text.indexOf(':') !== colon) return 'write an IPv6 address in brackets, e.g. [::1]:8081';
    name = colon >= 0 ? text.slice(0, colon) : text;
    portText = colon >= 0 ? text.slice(colon + 1) : undefined;
    if (isIP(name) !== 4 && !HOSTNAME.test(name)) return `'${name}' is not a host name or an IPv4 address`;
  }
  if (portText === undefined) return { name };
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 1 && port <= 65535)) return `port '${portText}' is not a number in 1..65535`;
  return { name, port };
}

/** The Host header values (lower case, `host:port`) a server bound to `boundHost:port` answers to. */
export function allowedHostValues(boundHost: string, port: number, extra: readonly AllowedHost[], otherAddresses: readonly string[] = []): Set<string> {
  const names = [boundHost, ...otherAddresses];
  if (isLoopback(boundHost)) names.push('localhost', '127.0.0.1', '::1');
  const values = new Set<string>();
  const add = (name: string, p: number): void => {
    values.add(`${name}:${p}`);
    // Browsers and curl leave the default port out of Host.
    if (p === 80) values.add(name);
  };
  for (const n of names) add(bracketed(n.toLowerCase()), port);
  for (const h of extra) add(h.name, h.port ?? port);
  return values;
}

export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** A wildcard address: the server answers on every interface of the machine. */
export function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]';
}

function bracketed(name: string): string {
  return isIP(name) === 6 ? `[${name}]` : name;
}

/** Refuses (403) a request whose Host is not one the server answers to: a DNS-rebound name or none at all. */
export function checkHost(host: string | undefined, allowed: ReadonlySet<string>): void {
  const known = [...allowed].join(', ');
  if (host === undefined || host.trim() === '') {
    throw new RestRequestError(403, 'FORBIDDEN_HOST', `request without a Host header refused: HTTP/1.1 requires one, and this API checks it against DNS rebinding; it answers to ${known}`);
  }
  const value = host.trim().toLowerCase();
  if (allowed.has(value)) return;
  throw new RestRequestError(
    403,
    'FORBIDDEN_HOST',
    `Host '${host}' refused: this API answers to ${known}, and other names are refused as a defence against DNS rebinding. ` +
      `If you reach it through that name on purpose (a tunnel or proxy), allow it with 'sluice run --rest-allowed-host ${host}' (REST server option allowedHosts)`,
  );
}

/**
 * Refuses (403) a browser request from another site. The API serves no web pages, so a request
 * carrying an Origin other than its own comes from a page the user opened elsewhere.
 */
export function checkOrigin(origin: string | undefined, secFetchSite: string | undefined, allowedHosts: ReadonlySet<string>): void {
  const refuse = (from: string): never => {
    throw new RestRequestError(403, 'FORBIDDEN_ORIGIN', `cross-origin request from ${from} refused: this API serves no web pages and answers only the sluice CLI, curl and other non-browser clients`);
  };
  if (origin !== undefined) {
    const o = origin.trim().toLowerCase();
    if (!o.startsWith('http://') || !allowedHosts.has(o.slice('http://'.length))) refuse(`'${origin}'`);
  }
  const site = secFetchSite?.trim().toLowerCase();
  if (site === 'cross-site' || site === 'same-site') refuse(`a ${site} page (Sec-Fetch-Site: ${site})`);
}

/** Refuses (415) a POST whose body is not declared as UTF-8 JSON; an empty body needs the header too. */
export function checkJsonContentType(contentType: string | undefined): void {
  const [type = '', ...params] = (contentType ?? '').split(';');
  const charset = params.map((p) => p.split('=')).find(([k]) => k?.trim().toLowerCase() === 'charset')?.[1];
  const utf8 = charset === undefined || ['utf-8', 'utf8'].includes(charset.trim().replace(/^"|"$/g, '').toLowerCase());
  if (type.trim().toLowerCase() === 'application/json' && utf8) return;
  const got = contentType === undefined ? 'no Content-Type' : `Content-Type '${contentType}'`;
  throw new RestRequestError(
    415,
    'UNSUPPORTED_MEDIA_TYPE',
    `POST requests need 'Content-Type: application/json' (UTF-8), even with an empty body; got ${got}. ` +
      `Browsers send text/plain and form bodies to other sites without asking, so this API takes JSON only`,
  );
}

/**
 * Refuses (401, with `WWW-Authenticate: Bearer`) a request without `Authorization: Bearer <token>`
 * or with another token. `hint` says where a client finds the token. The comparison takes the
 * same time whatever the tokens hold (digests of both, compared in constant time).
 */
export function checkBearerToken(authorization: string | undefined, token: string, hint: string): void {
  const sent = /^bearer +(\S+) *$/i.exec(authorization?.trim() ?? '')?.[1];
  if (sent !== undefined && timingSafeEqual(digest(sent), digest(token))) return;
  const what = sent === undefined ? "missing bearer token: POST requests need 'Authorization: Bearer <token>'" : 'wrong bearer token';
  throw new RestRequestError(401, 'UNAUTHORIZED', `${what}; ${hint}`, { 'WWW-Authenticate': 'Bearer realm="sluice"' });
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** A token a server accepts when given one: long enough to guess never, and safe in a header. */
export function validateToken(token: string): void {
  if (!/^[A-Za-z0-9._~+/-]{32,512}=*$/.test(token)) {
    throw new ConfigurationError('REST API: token must be 32 to 512 characters of A-Z, a-z, 0-9 and -._~+/ (base64url of 32 random bytes fits)');
  }
}
