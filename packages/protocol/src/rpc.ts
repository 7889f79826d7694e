/**
 * Address → gateway lookup. `LocalRpcService` serves components living in one process (the
 * embedded cluster); a network RpcService will serve the same interfaces across processes.
 */
import { SluiceError } from '@sluice/common';

export interface RpcService {
  register<G extends object>(address: string, gateway: G): void;
  unregister(address: string): void;
  connect<G extends object>(address: string): Promise<G>;
}

export class RpcUnreachableError extends SluiceError {
  constructor(address: string) {
    super('RPC_UNREACHABLE', `no component is registered at RPC address '${address}'; it may have stopped`, { retriable: true });
    this.name = 'RpcUnreachableError';
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
