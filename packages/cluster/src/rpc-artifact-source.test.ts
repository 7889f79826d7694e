import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArtifactCache, silentLogger } from '@sluice/common';
import { artifactGateway, ArtifactStore } from '@sluice/jobmanager';
import { NetworkRpcService } from '@sluice/rpc';
import { afterEach, describe, expect, it } from 'vitest';
import { rpcArtifactSource } from './rpc-artifact-source.js';

const SECRET = 'a cluster secret of enough bytes';
const dirs: string[] = [];
const services: NetworkRpcService[] = [];
afterEach(async () => {
  for (const s of services.splice(0)) await s.stop();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('bundles over RPC', () => {
  it('fetches a bundle larger than one chunk from the entrypoint into the cache, byte for byte', async () => {
    const root = mkdtempSync(join(tmpdir(), 'sluice-rpc-artifacts-'));
    dirs.push(root);
    const store = new ArtifactStore(join(root, 'store'));
    const bytes = randomBytes(9 * 1024 * 1024 + 123);
    const { id } = await store.put(bytes);
    const server = new NetworkRpcService({ secret: SECRET, logger: silentLogger });
    const client = new NetworkRpcService({ secret: SECRET, logger: silentLogger });
    services.push(server, client);
    await server.start();
    await client.start();
    server.register('artifacts', artifactGateway(store));
    const cache = new ArtifactCache({ directory: join(root, 'cache'), source: rpcArtifactSource(client, server.addressOf('artifacts')) });
    const path = await cache.resolve(id);
    expect(createHash('sha256').update(readFileSync(path)).digest('hex')).toBe(id);
    const unknown = createHash('sha256').update('never uploaded').digest('hex');
    await expect(cache.resolve(unknown)).rejects.toMatchObject({ code: 'ARTIFACT_NOT_FOUND' });
  });
});
