import { describe, expect, it } from 'vitest';
import { DEFAULT_JOB_CONFIG, LocalRpcService, Mailbox, RpcUnreachableError, requiredSlots, type JobGraph } from './index.js';

describe('Mailbox', () => {
  it('runs actions one at a time in submission order, even across awaits', async () => {
    const m = new Mailbox();
    const log: string[] = [];
    const slow = m.run(async () => {
      log.push('a:start');
      await new Promise((r) => setTimeout(r, 20));
      log.push('a:end');
      return 1;
    });
    const fast = m.run(() => {
      log.push('b');
      return 2;
    });
    expect(await Promise.all([slow, fast])).toEqual([1, 2]);
    expect(log).toEqual(['a:start', 'a:end', 'b']);
  });

  it('keeps running after an action fails, and hands the failure to its caller only', async () => {
    const m = new Mailbox();
    const failed = m.run(() => {
      throw new Error('boom');
    });
    const next = m.run(() => 'still running');
    await expect(failed).rejects.toThrow('boom');
    await expect(next).resolves.toBe('still running');
  });
});

describe('LocalRpcService', () => {
  it('resolves registered gateways by address and rejects unknown ones as retriable', async () => {
    const rpc = new LocalRpcService();
    const gateway = { ping: async () => 'pong' };
    rpc.register('tm-1', gateway);
    expect(await (await rpc.connect<typeof gateway>('tm-1')).ping()).toBe('pong');
    expect(() => rpc.register('tm-1', {})).toThrow(/already registered/);
    rpc.unregister('tm-1');
    const err = await rpc.connect('tm-1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RpcUnreachableError);
    expect((err as RpcUnreachableError).retriable).toBe(true);
    expect((err as Error).message).toMatch(/no component is registered at RPC address 'tm-1'/);
  });
});

describe('requiredSlots', () => {
  it('needs as many slots as the widest vertex, since all vertices share slots', () => {
    const vertex = (id: string, parallelism: number) => ({ id, name: id, parallelism, maxParallelism: 128, operators: [], isSource: false, isSink: false });
    const graph: JobGraph = { jobName: 'j', vertices: [vertex('v1', 1), vertex('v2', 4), vertex('v3', 2)], edges: [], config: { ...DEFAULT_JOB_CONFIG } };
    expect(requiredSlots(graph)).toBe(4);
  });
});
