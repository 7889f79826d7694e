/**
 * The ArtifactGateway over the Dispatcher's ArtifactStore: bundles read in chunks, so a bundle
 * larger than an RPC frame still travels, and a reader never holds more than one chunk.
 */
import { open } from 'node:fs/promises';
import { SluiceError } from '@sluice/common';
import type { ArtifactGateway } from '@sluice/protocol';
import { isArtifactId, type ArtifactStore } from './artifact-store.js';

export const MAX_ARTIFACT_CHUNK_BYTES = 4 * 1024 * 1024;

export function artifactGateway(store: ArtifactStore): ArtifactGateway {
  return {
    async readArtifact(id, offset, maxBytes) {
      if (!isArtifactId(id)) throw new SluiceError('BAD_REQUEST', `an artifact id is 64 hex digits (the bundle's SHA-256), got ${JSON.stringify(String(id).slice(0, 80))}`);
      if (!Number.isSafeInteger(offset) || offset < 0) throw new SluiceError('BAD_REQUEST', `offset must be a non-negative integer, got ${String(offset)}`);
      if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) throw new SluiceError('BAD_REQUEST', `maxBytes must be a positive integer, got ${String(maxBytes)}`);
      const path = await store.locate(id);
      if (path === undefined) throw new SluiceError('ARTIFACT_NOT_FOUND', `no bundle with id ${id} was uploaded to this cluster`);
      const file = await open(path, 'r');
      try {
        const total = (await file.stat()).size;
        const length = Math.max(0, Math.min(maxBytes, MAX_ARTIFACT_CHUNK_BYTES, total - offset));
        const bytes = new Uint8Array(length);
        const { bytesRead } = await file.read(bytes, 0, length, offset);
        return { bytes: bytesRead === length ? bytes : bytes.subarray(0, bytesRead), total };
      } finally {
        await file.close();
      }
    },
  };
}
