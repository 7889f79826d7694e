/**
 * Address → gateway lookup. `LocalRpcService` serves components living in one process (the
 * embedded cluster); a network RpcService will serve the same interfaces across processes.
 *
 * Errors a caller may see from any RpcService, whatever the transport, by code:
 * - `RPC_UNREACHABLE` (retriable): nothing answers at the address — the call was not delivered;
 * - `RPC_TIMEOUT` (retriable): no answer in time — the call may or may not have been delivered.
 */
import { SluiceError } from '@sluice/common';

export const RPC_UNREACHABLE = 'RPC_UNREACHABLE';
export const RPC_TIMEOUT = 'RPC_TIMEOUT';

export interface RpcService {
  register<G extends object>(address: string, gateway: G): void;
  unregister(address: string): void;
  connect<G extends object>(address: string): Promise<G>;
}

export class RpcUnreachableError extends SluiceError {
  constructor(address: string) {
    super(RPC_UNREACHABLE, `no component is registered at RPC address '${address}'; it may have stopped`, { retriable: true });
    this.name = 'RpcUnreachableError';
  }
}

export class RpcTimeoutError extends SluiceError {
  constructor(address: string, what: string, timeoutMs: number) {
    super(RPC_TIMEOUT, `${what} to '${address}' got no answer within ${timeoutMs} ms; the peer may be overloaded or gone`, { retriable: true });
    this.name = 'RpcTimeoutError';
  }
}

export class LocalRpcService implements RpcService {
  private readonly endpoints = new Map<string, object>();

  register<G extends object>(address: string, gateway: G): void {
    if (this.endpoints.has(address)) throw new SluiceError('RPC_ADDRESS_IN_USE', `RPC address '${address}' is already registered`);
    this.endpoints.set(address, gateway);
  }

  unregister(address: string): void {
    this.endpoints.delete(address);
  }

  async connect<G extends object>(address: string): Promise<G> {
    const g = this.endpoints.get(address);
    if (g === undefined) throw new RpcUnreachableError(address);
    return g as G;
  }
}
