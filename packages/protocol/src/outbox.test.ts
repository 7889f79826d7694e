import { SluiceError, silentLogger } from '@sluice/common';
import { describe, expect, it } from 'vitest';
import { LocalRpcService, Outbox, type UndeliverableCall } from './index.js';

interface Peer {
  call(n: number): Promise<number>;
}

function setup(peer: Peer, options: { callTimeoutMs?: number; attempts?: number } = {}) {
  const rpc = new LocalRpcService();
  rpc.register('peer', peer);
  const undeliverable: UndeliverableCall[] = [];
  const outbox = new Outbox({ rpc, logger: silentLogger, retryInitialDelayMs: 1, retryMaxDelayMs: 2, ...options, onUndeliverable: (u) => undeliverable.push(u) });
  return { rpc, outbox, undeliverable };
}

describe('Outbox', () => {
  it('gives up on a farewell to a peer that is gone at once, logging it at debug level only', async () => {
    const logged: string[] = [];
    const logger = { ...silentLogger, warn: (m: string) => logged.push(`warn ${m}`), debug: (m: string) => logged.push(`debug ${m}`), child: () => logger };
    const outbox = new Outbox({ rpc: new LocalRpcService(), logger, retryInitialDelayMs: 1, retryMaxDelayMs: 2, attempts: 4 });
    let tried = 0;
    await expect(outbox.call<Peer, number>('gone', 'goodbye', (p) => (tried++, p.call(0)), { farewell: true })).rejects.toMatchObject({ code: 'RPC_UNREACHABLE' });
    await expect(outbox.call<Peer, number>('gone', 'an ordinary call', (p) => p.call(0))).rejects.toMatchObject({ code: 'RPC_UNREACHABLE' });
    expect(tried).toBe(0);
    expect(logged).toEqual([`debug could not deliver goodbye to 'gone'`, `warn could not deliver an ordinary call to 'gone'`]);
  });

  it('delivers the calls to one peer one after another, in the order they were sent, however long each takes', async () => {
    const seen: number[] = [];
    let inFlight = 0;
    const { outbox } = setup({
      async call(n) {
        inFlight++;
        expect(inFlight).toBe(1);
        // Earlier calls take longer: without the queue later ones would overtake them.
        await new Promise((r) => setTimeout(r, 10 - n));
        seen.push(n);
        inFlight--;
        return n * 2;
      },
    });
    const answers = await Promise.all(Array.from({ length: 10 }, (_, n) => outbox.call<Peer, number>('peer', `call ${n}`, (p) => p.call(n))));
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(answers).toEqual(seen.map((n) => n * 2));
  });

  it('retries a retriable failure with backoff and delivers in order behind it', async () => {
    const seen: number[] = [];
    let failures = 2;
    const { outbox, undeliverable } = setup({
      async call(n) {
        if (n === 0 && failures-- > 0) throw new SluiceError('BUSY', 'try later', { retriable: true });
        seen.push(n);
        return n;
      },
    });
    await Promise.all([outbox.call<Peer, number>('peer', 'first', (p) => p.call(0)), outbox.call<Peer, number>('peer', 'second', (p) => p.call(1))]);
    expect(seen).toEqual([0, 1]);
    expect(undeliverable).toEqual([]);
  });

  it('gives up on a non-retriable failure at once, and on a retriable one after the attempts, and tells the owner', async () => {
    let calls = 0;
    const { outbox, undeliverable } = setup(
      {
        async call(n) {
          calls++;
          throw new SluiceError(n === 0 ? 'REFUSED' : 'BUSY', 'no', { retriable: n !== 0 });
        },
      },
      { attempts: 3 },
    );
    await expect(outbox.call<Peer, number>('peer', 'refused', (p) => p.call(0))).rejects.toMatchObject({ code: 'REFUSED' });
    expect(calls).toBe(1);
    await expect(outbox.call<Peer, number>('peer', 'busy', (p) => p.call(1))).rejects.toMatchObject({ code: 'BUSY' });
    expect(calls).toBe(4);
    expect(undeliverable.map((u) => [u.address, u.what, (u.error as SluiceError).code])).toEqual([
      ['peer', 'refused', 'REFUSED'],
      ['peer', 'busy', 'BUSY'],
    ]);
  });

  it('times out a call that gets no answer, retries it only when it is idempotent, and goes on with the next', async () => {
    let calls = 0;
    const { outbox, undeliverable } = setup({ call: (n) => (calls++, n === 0 ? new Promise<number>(() => {}) : Promise.resolve(n)) }, { callTimeoutMs: 20, attempts: 2 });
    const once = outbox.call<Peer, number>('peer', 'hanging once', (p) => p.call(0), { idempotent: false });
    const next = outbox.call<Peer, number>('peer', 'next', (p) => p.call(1));
    await expect(once).rejects.toMatchObject({ code: 'RPC_TIMEOUT', retriable: true });
    expect(await next).toBe(1);
    expect(calls).toBe(2);
    await expect(outbox.call<Peer, number>('peer', 'hanging twice', (p) => p.call(0))).rejects.toMatchObject({ code: 'RPC_TIMEOUT' });
    expect(calls).toBe(4);
    expect(undeliverable.map((u) => u.what)).toEqual(['hanging once', 'hanging twice']);
  });

  it('retries a peer that is not there yet, and reports one that stays away as unreachable', async () => {
    const rpc = new LocalRpcService();
    const undeliverable: UndeliverableCall[] = [];
    const outbox = new Outbox({ rpc, logger: silentLogger, attempts: 3, retryInitialDelayMs: 5, onUndeliverable: (u) => undeliverable.push(u) });
    const late = outbox.call<Peer, number>('late', 'to a late peer', (p) => p.call(7));
    rpc.register('late', { call: async (n: number) => n });
    expect(await late).toBe(7);
    await expect(outbox.call<Peer, number>('nobody', 'to nobody', (p) => p.call(1))).rejects.toMatchObject({ code: 'RPC_UNREACHABLE' });
    expect(undeliverable.map((u) => u.address)).toEqual(['nobody']);
  });

  it('drops what is queued for a discarded peer without telling the owner, and refuses calls once closed after draining', async () => {
    let release!: () => void;
    const seen: number[] = [];
    const { outbox, undeliverable } = setup({
      async call(n) {
        if (n === 0) await new Promise<void>((r) => (release = r));
        seen.push(n);
        return n;
      },
    });
    const first = outbox.call<Peer, number>('peer', 'first', (p) => p.call(0));
    const queued = outbox.call<Peer, number>('peer', 'queued', (p) => p.call(1));
    await new Promise((r) => setTimeout(r, 5));
    outbox.discard('peer', 'the peer was lost');
    await expect(queued).rejects.toMatchObject({ code: 'PEER_DISCARDED' });
    const closing = outbox.close();
    await expect(outbox.call<Peer, number>('peer', 'late', (p) => p.call(2))).rejects.toMatchObject({ code: 'OUTBOX_CLOSED' });
    release();
    await closing;
    expect(await first).toBe(0);
    expect(seen).toEqual([0]);
    expect(undeliverable).toEqual([]);
  });
});
