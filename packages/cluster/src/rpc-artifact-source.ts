/**
 * Bundles over RPC from the entrypoint's ArtifactGateway, chunk by chunk: what TaskManager and
 * JobMaster processes fetch bundles with (the cluster secret authenticates the connection, so
 * they need no REST token).
 */
import type { ArtifactSource } from '@sluice/common';
import type { ArtifactGateway, RpcService } from '@sluice/protocol';

const CHUNK = 4 * 1024 * 1024;

/** `address` may change (a function: the leading entrypoint's, under HA); it is read per fetch. */
export function rpcArtifactSource(rpc: RpcService, address: string | (() => string)): ArtifactSource {
  const where = typeof address === 'string' ? () => address : address;
  return {
    get description() {
      return where();
    },
    async open(id, signal) {
      const gateway = await rpc.connect<ArtifactGateway>(where());
      async function* chunks(): AsyncIterable<Uint8Array> {
        let offset = 0;
        for (;;) {
          signal.throwIfAborted();
          const { bytes, total } = await gateway.readArtifact(id, offset, CHUNK);
          if (bytes.length > 0) yield bytes;
          offset += bytes.length;
          if (offset >= total || bytes.length === 0) return;
        }
      }
      return chunks();
    },
  };
}
