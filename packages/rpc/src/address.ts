/**
 * Network RPC addresses: `sluice://<host>:<port>/<endpoint>`, e.g.
 * `sluice://10.0.0.2:6123/resourcemanager` or `sluice://[fd00::2]:6123/jobmaster/3f9c`. The
 * endpoint is everything after the first `/` following the port. Any other string is a local
 * name, served in this process.
 */
import { ConfigurationError } from '@sluice/common';

export const ADDRESS_SCHEME = 'sluice://';

export interface NetworkAddress {
  host: string;
  port: number;
  endpoint: string;
  /** `host:port` with the host lower-cased and IPv6 in brackets: the key of the peer's connection. */
  peer: string;
}

export function isNetworkAddress(address: string): boolean {
  return address.startsWith(ADDRESS_SCHEME);
}

/** Endpoint names: printable, no spaces, at most 512 characters. */
export function checkEndpointName(endpoint: string): void {
  if (endpoint.length === 0 || endpoint.length > 512 || /[\s\x00-\x1f\x7f]/.test(endpoint)) {
    throw new ConfigurationError(`RPC endpoint name ${JSON.stringify(endpoint.slice(0, 80))} is invalid: use 1–512 printable characters without spaces`);
  }
}

export function peerKey(host: string, port: number): string {
  const h = host.toLowerCase();
  return h.includes(':') ? `[${h}]:${port}` : `${h}:${port}`;
}

export function formatAddress(host: string, port: number, endpoint: string): string {
  return `${ADDRESS_SCHEME}${peerKey(host, port)}/${endpoint}`;
}

/** Parses `sluice://host:port/endpoint`; throws a ConfigurationError saying what is wrong. */
export function parseAddress(address: string): NetworkAddress {
  const bad = (why: string): never => {
    throw new ConfigurationError(`RPC address ${JSON.stringify(address)} is invalid: ${why}; expected ${ADDRESS_SCHEME}<host>:<port>/<endpoint>`);
  };
  if (!isNetworkAddress(address)) bad(`it does not start with ${ADDRESS_SCHEME}`);
  const rest = address.slice(ADDRESS_SCHEME.length);
  const slash = rest.indexOf('/');
  if (slash < 0) bad('it names no endpoint');
  const { host, port } = parseHostPort(rest.slice(0, slash), bad);
  const endpoint = rest.slice(slash + 1);
  checkEndpointName(endpoint);
  return { host, port, endpoint, peer: peerKey(host, port) };
}

/** `host:port` or `[v6]:port` (also accepts a full address, ignoring its endpoint). */
export function parsePeer(text: string): { host: string; port: number; peer: string } {
  const bad = (why: string): never => {
    throw new ConfigurationError(`RPC peer ${JSON.stringify(text)} is invalid: ${why}; expected <host>:<port> or ${ADDRESS_SCHEME}<host>:<port>/<endpoint>`);
  };
  let hp = text;
  if (isNetworkAddress(text)) {
    hp = text.slice(ADDRESS_SCHEME.length);
    const slash = hp.indexOf('/');
    if (slash >= 0) hp = hp.slice(0, slash);
  }
  const { host, port } = parseHostPort(hp, bad);
  return { host, port, peer: peerKey(host, port) };
}

function parseHostPort(hp: string, bad: (why: string) => never): { host: string; port: number } {
  let host: string;
  let portText: string;
  if (hp.startsWith('[')) {
    const close = hp.indexOf(']');
    if (close < 0 || hp[close + 1] !== ':') bad('an IPv6 host must be written [addr]:port');
    host = hp.slice(1, close);
    portText = hp.slice(close + 2);
  } else {
    const colon = hp.lastIndexOf(':');
    if (colon < 0) bad('it has no port');
    host = hp.slice(0, colon);
    portText = hp.slice(colon + 1);
    if (host.includes(':')) bad('an IPv6 host must be written in brackets');
  }
  if (host.length === 0 || /[\s/@?#]/.test(host)) bad('the host is empty or has invalid characters');
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 1 && port <= 65535)) bad(`port ${JSON.stringify(portText)} is not in 1–65535`);
  return { host, port };
}
