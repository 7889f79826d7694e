import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeExecutorCall, encodeExecutorEvent, encodeRecord, type ExecutorCall, type ExecutorEvent } from '@sluice/mesos-proto';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentClient } from './agent-client.js';
import { AgentError } from './agent-gateway.js';

const BASE = { executor_id: { value: 'e-1' }, framework_id: { value: 'fw-1' } };
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A one-handler HTTP server on 127.0.0.1 or a Unix socket, closed after the test. */
async function serve(handler: (req: IncomingMessage, body: Buffer, res: ServerResponse) => void, socketPath?: string): Promise<string> {
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => handler(req, Buffer.concat(parts), res));
  });
  await new Promise<void>((resolve) => (socketPath === undefined ? server.listen(0, '127.0.0.1', resolve) : server.listen(socketPath, resolve)));
  cleanups.push(() => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  const address = server.address();
  return typeof address === 'string' ? address : `127.0.0.1:${address!.port}`;
}

function client(endpoint: string, extra: Partial<ConstructorParameters<typeof AgentClient>[0]> = {}): AgentClient {
  const c = new AgentClient({ endpoint, ...extra });
  cleanups.push(() => c.close());
  return c;
}

function collect(c: AgentClient, call: ExecutorCall): { events: ExecutorEvent[]; closed: Promise<AgentError> } {
  const events: ExecutorEvent[] = [];
  let onClose!: (e: AgentError) => void;
  const closed = new Promise<AgentError>((resolve) => (onClose = resolve));
  const sub = c.subscribe(call, { onEvent: (e) => events.push(e), onClose });
  cleanups.push(() => sub.close());
  return { events, closed };
}

describe('AgentClient', () => {
  it('POSTs calls to /api/v1/executor and resolves on 202', async () => {
    let seen: { path?: string; method?: string; call?: ExecutorCall } = {};
    const endpoint = await serve((req, body, res) => {
      seen = { path: req.url!, method: req.method!, call: decodeExecutorCall(body, 'protobuf') };
      res.writeHead(202).end();
    });
    await client(endpoint).call({ ...BASE, type: 'MESSAGE', message: { data: Buffer.from('x') } });
    expect(seen).toEqual({ path: '/api/v1/executor', method: 'POST', call: { ...BASE, type: 'MESSAGE', message: { data: Buffer.from('x') } } });
  });

  it('rejects a 4xx with a non-retriable AgentError carrying the status and the agent\'s body', async () => {
    const endpoint = await serve((_req, _body, res) => res.writeHead(400).end('Received unexpected \'executor_id\''));
    const err = await client(endpoint).call({ ...BASE, type: 'UPDATE', update: { status: { task_id: { value: 't' }, state: 'TASK_RUNNING' } } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgentError);
    expect(err).toMatchObject({ code: 'MESOS_AGENT_REFUSED', retriable: false, status: 400, body: 'Received unexpected \'executor_id\'' });
    expect((err as Error).message).toBe('the agent answered UPDATE with 400: Received unexpected \'executor_id\'');
  });

  it('rejects a 5xx and an unreachable agent as retriable', async () => {
    const endpoint = await serve((_req, _body, res) => res.writeHead(503).end());
    await expect(client(endpoint).call({ ...BASE, type: 'HEARTBEAT' })).rejects.toMatchObject({ code: 'MESOS_AGENT_UNAVAILABLE', retriable: true, status: 503 });
    const closed = await serve(() => undefined);
    await cleanups.pop()!(); // closed: nothing listens there any more
    await expect(client(closed).call({ ...BASE, type: 'HEARTBEAT' })).rejects.toMatchObject({ code: 'MESOS_AGENT_UNAVAILABLE', retriable: true });
  });

  it('reads events split across chunks in any way, decoding by the response Content-Type', async () => {
    const events: ExecutorEvent[] = [
      { type: 'HEARTBEAT' },
      { type: 'MESSAGE', message: { data: Buffer.from('ünïcode ✓') } },
      { type: 'ERROR', error: { message: 'x'.repeat(3000) } },
    ];
    const bytes = Buffer.concat(events.map((e) => encodeRecord(encodeExecutorEvent(e, 'json'))));
    const endpoint = await serve((_req, _body, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      // One byte at a time through the first records, then the rest.
      let i = 0;
      const drip = (): void => {
        if (i < 60) {
          res.write(bytes.subarray(i, ++i));
          setImmediate(drip);
        } else res.end(bytes.subarray(i));
      };
      drip();
    });
    const { events: got, closed } = collect(client(endpoint), { ...BASE, type: 'SUBSCRIBE', subscribe: {} });
    const err = await closed;
    expect(got).toEqual(events);
    expect(err).toMatchObject({ code: 'MESOS_AGENT_STREAM', message: 'the agent closed the event stream' });
  });

  it('ends the stream with MESOS_AGENT_STREAM when it breaks off inside a record', async () => {
    const endpoint = await serve((_req, _body, res) => {
      res.writeHead(200, { 'Content-Type': 'application/x-protobuf' });
      res.end('20\n{"type"');
    });
    const { closed } = collect(client(endpoint), { ...BASE, type: 'SUBSCRIBE', subscribe: {} });
    expect((await closed).message).toMatch(/^the agent's event stream broke off: RecordIO stream ended inside a record/);
  });

  it('refuses events over maxEventBytes', async () => {
    const endpoint = await serve((_req, _body, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write(encodeRecord(encodeExecutorEvent({ type: 'ERROR', error: { message: 'y'.repeat(200) } }, 'json')));
    });
    const { events, closed } = collect(client(endpoint, { encoding: 'json', maxEventBytes: 100 }), { ...BASE, type: 'SUBSCRIBE', subscribe: {} });
    expect((await closed).message).toMatch(/exceeds the limit of 100 bytes/);
    expect(events).toEqual([]);
  });

  it('reaches the agent over MESOS_DOMAIN_SOCKET', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-agent-sock-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    let path = '';
    const socket = await serve((req, _body, res) => {
      path = req.url!;
      res.writeHead(202).end();
    }, join(dir, 'agent.sock'));
    await client('unused.invalid:5051', { domainSocket: socket }).call({ ...BASE, type: 'HEARTBEAT' });
    expect(path).toBe('/api/v1/executor');
  });
});
