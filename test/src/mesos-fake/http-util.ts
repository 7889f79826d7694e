/**
 * HTTP plumbing shared by the fake master and agent: request bodies, plain-text answers shaped
 * like libprocess's, `Accept` negotiation, HTTP Basic credentials, and `EventStream`, one open
 * RecordIO response (a scheduler subscription or an executor subscription).
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { encodeRecord, type MesosEncoding } from '@sluice/mesos-proto';

export const MEDIA_TYPE: Record<MesosEncoding, string> = { json: 'application/json', protobuf: 'application/x-protobuf' };

export function readBody(req: IncomingMessage, limit = 64 * 1024 * 1024): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > limit) {
        reject(new Error(`request body over ${limit} bytes`));
        req.destroy();
        return;
      }
      parts.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

/** A libprocess-style answer: status, optional plain-text body, extra headers. */
export function answer(res: ServerResponse, status: number, body = '', headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  const bytes = Buffer.from(body, 'utf8');
  const h: Record<string, string | number> = { ...headers, 'Content-Length': bytes.byteLength };
  if (bytes.byteLength > 0 && h['Content-Type'] === undefined) h['Content-Type'] = 'text/plain; charset=utf-8';
  res.writeHead(status, h);
  res.end(bytes);
}

export function answerJson(res: ServerResponse, value: unknown): void {
  answer(res, 200, JSON.stringify(value), { 'Content-Type': 'application/json' });
}

export function methodNotAllowed(res: ServerResponse, method: string | undefined): void {
  answer(res, 405, `Expecting one of { 'POST' }, but received '${method ?? ''}'`, { Allow: 'POST' });
}

/** libprocess `Request::acceptsMediaType`: no Accept header accepts everything; q=0 excludes. */
export function acceptsMediaType(header: string | undefined, mediaType: string): boolean {
  if (header === undefined || header.trim() === '') return true;
  const [type] = mediaType.split('/');
  for (const part of header.split(',')) {
    const [range, ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    if (q !== undefined && Number(q.slice(2)) <= 0) continue;
    if (range === '*/*' || range === mediaType || range === `${type}/*`) return true;
  }
  return false;
}

/** The encoding to answer a subscription in, or undefined for 406. JSON wins when both are acceptable. */
export function negotiateAccept(header: string | undefined): MesosEncoding | undefined {
  if (acceptsMediaType(header, MEDIA_TYPE.json)) return 'json';
  if (acceptsMediaType(header, MEDIA_TYPE.protobuf)) return 'protobuf';
  return undefined;
}

export type BasicAuth = { ok: true; principal: string } | { ok: false; reason: string };

export function checkBasicAuth(req: IncomingMessage, credential: { principal: string; secret: string }): BasicAuth {
  const header = req.headers.authorization;
  if (header === undefined) return { ok: false, reason: 'Missing authorization header' };
  const m = /^Basic\s+(.+)$/i.exec(header);
  if (m === null) return { ok: false, reason: 'Malformed authorization header' };
  const decoded = Buffer.from(m[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return { ok: false, reason: 'Malformed credentials' };
  const principal = decoded.slice(0, colon);
  if (principal !== credential.principal || decoded.slice(colon + 1) !== credential.secret) {
    return { ok: false, reason: 'Authentication failed' };
  }
  return { ok: true, principal };
}

/** One open RecordIO response. Writes after close are dropped, as on a dead connection. */
export class EventStream {
  private closedFlag = false;
  private readonly closeListeners: (() => void)[] = [];
  heartbeat: NodeJS.Timeout | undefined;

  constructor(
    readonly res: ServerResponse,
    readonly encoding: MesosEncoding,
    readonly id: string,
    private readonly encode: (event: unknown, encoding: MesosEncoding) => Buffer,
    headers: Record<string, string> = {},
  ) {
    res.writeHead(200, { 'Content-Type': MEDIA_TYPE[encoding], ...headers });
    res.flushHeaders();
    const onGone = (): void => this.markClosed();
    res.on('close', onGone);
    res.socket?.setNoDelay(true);
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  send(event: unknown): boolean {
    return this.sendRaw(encodeRecord(this.encode(event, this.encoding)));
  }

  /** Bytes as they are, for framing faults (truncated records, garbage length lines). */
  sendRaw(bytes: Uint8Array): boolean {
    if (this.closedFlag) return false;
    this.res.write(bytes);
    return true;
  }

  onClose(listener: () => void): void {
    if (this.closedFlag) listener();
    else this.closeListeners.push(listener);
  }

  /** Ends the response cleanly (the client sees the stream end). */
  close(): void {
    if (this.closedFlag) return;
    this.res.end();
    this.markClosed();
  }

  /** Drops the connection without ending the response (the client sees a reset). */
  destroy(): void {
    this.res.socket?.destroy();
    this.markClosed();
  }

  private markClosed(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    if (this.heartbeat !== undefined) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    for (const l of this.closeListeners.splice(0)) l();
  }
}

/** Tracks a server's sockets so stop() can cut long-lived streams instead of waiting for them. */
export function trackSockets(server: Server): Set<Socket> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  return sockets;
}

export function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : port);
    });
  });
}

export function closeServer(server: Server, sockets: Set<Socket>): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
    for (const s of sockets) s.destroy();
    server.closeAllConnections();
  });
}
