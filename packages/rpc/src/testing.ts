/**
 * Test helpers for @sluice/rpc (not exported from the package): a capturing logger, a TCP
 * forwarder that stands in for a port mapping or a cut cable, and test certificates made with
 * openssl.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { createLogger, type Logger } from '@sluice/common';

export interface CapturedLog {
  logger: Logger;
  lines: string[];
  /** Lines matching `re`. */
  matching(re: RegExp): string[];
}

export function captureLog(): CapturedLog {
  const lines: string[] = [];
  return { logger: createLogger('debug', 'rpc', (l) => lines.push(l)), lines, matching: (re) => lines.filter((l) => re.test(l)) };
}

export const TEST_SECRET = 'test-cluster-secret-0123456789abcdef';

export async function waitUntil(what: string, probe: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Forwards TCP from listenHost:port to target; cut() drops every forwarded connection. */
export class Forwarder {
  readonly pairs = new Set<[Socket, Socket]>();
  private readonly server: Server;
  port = 0;

  /** Where new connections go; may be set after start(). */
  constructor(readonly listenHost: string, readonly targetHost: string, public targetPort: number) {
    this.server = createServer((inbound) => {
      const outbound = connect({ host: this.targetHost, port: this.targetPort });
      const pair: [Socket, Socket] = [inbound, outbound];
      this.pairs.add(pair);
      const end = (): void => {
        inbound.destroy();
        outbound.destroy();
        this.pairs.delete(pair);
      };
      inbound.on('error', end).on('close', end);
      outbound.on('error', end).on('close', end);
      inbound.pipe(outbound);
      outbound.pipe(inbound);
    });
  }

  async start(): Promise<number> {
    await new Promise<void>((r) => this.server.listen(0, this.listenHost, r));
    const a = this.server.address();
    this.port = typeof a === 'object' && a !== null ? a.port : 0;
    return this.port;
  }

  cut(): void {
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    this.pairs.clear();
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

export interface TestCertificates {
  caFile: string;
  keyFile: string;
  certFile: string;
  /** A CA that signed nothing the nodes use: a truststore that trusts no node. */
  otherCaFile: string;
}

/**
 * A CA and one node certificate (valid for 127.0.0.1–127.0.0.4 and localhost, for servers and
 * clients) written to `dir` by openssl. Throws if openssl is missing: the TLS tests need it.
 */
export function makeTestCertificates(dir: string): TestCertificates {
  const ssl = (...args: string[]): void => {
    try {
      execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
      if (e.code === 'ENOENT') throw new Error('the TLS tests need the openssl command to make test certificates; install openssl (e.g. apt-get install openssl)');
      throw new Error(`openssl ${args.join(' ')} failed: ${e.stderr?.toString() ?? e.message}`);
    }
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const caExt = ['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'];
  ssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=sluice-test-ca', ...caExt);
  ssl('req', '-x509', ...ec, '-keyout', 'other-ca.key', '-out', 'other-ca.crt', '-days', '2', '-subj', '/CN=sluice-other-ca', ...caExt);
  ssl('req', ...ec, '-keyout', 'node.key', '-out', 'node.csr', '-subj', '/CN=sluice-node');
  writeFileSync(
    join(dir, 'node.ext'),
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=IP:127.0.0.1,IP:127.0.0.2,IP:127.0.0.3,IP:127.0.0.4,DNS:localhost\n',
  );
  ssl('x509', '-req', '-in', 'node.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'node.crt', '-days', '2', '-extfile', 'node.ext');
  return { caFile: join(dir, 'ca.crt'), keyFile: join(dir, 'node.key'), certFile: join(dir, 'node.crt'), otherCaFile: join(dir, 'other-ca.crt') };
}
