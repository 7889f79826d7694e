/**
 * HTTP to the masters over node:http / node:https (not fetch: its body timeout would end a
 * healthy event stream). SUBSCRIBE gets a fresh connection each time, because its response
 * stays open for the life of the subscription; every other call goes on a keep-alive pool, so
 * calls never queue behind the stream. Every request carries the exact media types and, when
 * configured, HTTP Basic credentials.
 */
import http from 'node:http';
import https from 'node:https';
import { describeError } from '@sluice/common';
import { MESOS_MEDIA_TYPES } from '@sluice/mesos-proto';
import { MesosCallError } from './errors.js';
import { masterAddress, schedulerApiPath, type MasterEndpoint } from './location.js';
import type { ResolvedMasterConnectionOptions } from './options.js';

/** Enough of an error answer to show the master's reason; the rest is drained and dropped. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;
const USER_AGENT = 'sluice-mesos-scheduler';

type Agents = { http: http.Agent; https: https.Agent };

export class MasterHttp {
  private readonly streamAgents: Agents;
  private readonly callAgents: Agents;

  constructor(private readonly o: ResolvedMasterConnectionOptions) {
    const tls = o.tls ?? { rejectUnauthorized: true };
    this.streamAgents = { http: new http.Agent({ keepAlive: false }), https: new https.Agent({ keepAlive: false, ...tls }) };
    this.callAgents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true, ...tls }) };
  }

  private headers(bodyBytes: number, streamId: string | undefined): http.OutgoingHttpHeaders {
    const type = MESOS_MEDIA_TYPES[this.o.encoding];
    const headers: http.OutgoingHttpHeaders = { 'Content-Type': type, Accept: type, 'Content-Length': bodyBytes, 'User-Agent': USER_AGENT };
    if (this.o.authorization !== undefined) headers.Authorization = this.o.authorization;
    if (streamId !== undefined) headers['Mesos-Stream-Id'] = streamId;
    return headers;
  }

  private request(master: MasterEndpoint, agents: Agents, body: Buffer, streamId: string | undefined): http.ClientRequest {
    const options: http.RequestOptions = {
      method: 'POST',
      host: master.host,
      port: master.port,
      path: schedulerApiPath(master),
      headers: this.headers(body.byteLength, streamId),
    };
    return master.scheme === 'https' ? https.request({ ...options, agent: agents.https }) : http.request({ ...options, agent: agents.http });
  }

  /** Sends SUBSCRIBE (never with a stream id). The caller handles the response and destroys the request to drop the stream. */
  subscribe(master: MasterEndpoint, body: Buffer): http.ClientRequest {
    const req = this.request(master, this.streamAgents, body, undefined);
    req.end(body);
    return req;
  }

  /** Sends one call on the subscription `streamId`; resolves on 2xx, rejects with MesosCallError otherwise. */
  call(master: MasterEndpoint, callType: string, body: Buffer, streamId: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const req = this.request(master, this.callAgents, body, streamId);
      let settled = false;
      const fail = (err: unknown): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(err instanceof MesosCallError ? err : new MesosCallError(callType, masterAddress(master), undefined, '', { cause: err, detail: describeError(err) }));
      };
      const timer = setTimeout(() => req.destroy(new Error(`no answer within ${this.o.callTimeoutMs} ms`)), this.o.callTimeoutMs);
      req.on('error', fail);
      req.on('response', (res) => {
        readBody(res).then((text) => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            resolve();
          } else {
            fail(new MesosCallError(callType, masterAddress(master), status, text));
          }
        }, fail);
      });
      req.end(body);
    });
  }

  /** Destroys every socket, idle or in use (in-flight calls then fail with MESOS_CALL_FAILED). */
  destroy(): void {
    for (const agents of [this.streamAgents, this.callAgents]) {
      agents.http.destroy();
      agents.https.destroy();
    }
  }
}

/** A response body as text, at most MAX_ERROR_BODY_BYTES of it (the rest is read and dropped, so a keep-alive socket stays usable). */
export function readBody(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let have = 0;
    res.on('data', (chunk: Buffer) => {
      if (have >= MAX_ERROR_BODY_BYTES) return;
      const take = chunk.subarray(0, MAX_ERROR_BODY_BYTES - have);
      parts.push(take);
      have += take.byteLength;
    });
    res.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    res.on('error', reject);
    res.on('close', () => {
      if (!res.complete) reject(new Error('the master closed the connection mid-answer'));
    });
  });
}
