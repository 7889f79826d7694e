import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { STATE_FILE_HEADER_BYTES } from './format.js';
import { readSection, readSections, readWholeFile, writeStateFile } from './state-file.js';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const decode = (b: Uint8Array): string => new TextDecoder().decode(b);

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-state-file-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('state files', () => {
  it('round-trips key-group sections, sorted by key group, with offsets after the header', async () => {
    const { handle, keyGroups } = await writeStateFile(dir, 'keyed-0', [
      { keyGroup: 7, bytes: text('seven') },
      { keyGroup: 2, bytes: text('two!') },
      { keyGroup: 9, bytes: new Uint8Array(0) },
    ]);
    expect(keyGroups.map((s) => s.keyGroup)).toEqual([2, 7, 9]);
    expect(handle.bytes).toBe(STATE_FILE_HEADER_BYTES + 9);
    const onDisk = await readFile(join(dir, 'keyed-0'));
    expect(onDisk.length).toBe(handle.bytes);
    expect(crc32(onDisk) >>> 0).toBe(handle.crc32);
    expect(keyGroups.find((s) => s.keyGroup === 7)!.offset).toBe(STATE_FILE_HEADER_BYTES);

    const [two, seven, nine] = await readSections(dir, handle, keyGroups);
    expect([decode(two!), decode(seven!), nine!.length]).toEqual(['two!', 'seven', 0]);
    expect(decode(await readSection(dir, handle, keyGroups[1]!))).toBe('seven');
  });

  it('round-trips an operator-state blob without the header', async () => {
    const blob = Uint8Array.from({ length: 100_000 }, (_, i) => i % 251);
    const { handle, keyGroups } = await writeStateFile(dir, 'op-0', [{ bytes: blob.subarray(0, 40_000) }, { bytes: blob.subarray(40_000) }]);
    expect(keyGroups).toEqual([]);
    expect(await readWholeFile(dir, handle)).toEqual(blob);
  });

  it('writes many small sections (more than one gathered write) correctly', async () => {
    const sections = Array.from({ length: 2000 }, (_, g) => ({ keyGroup: g, bytes: text(`group-${g}`) }));
    const { handle, keyGroups } = await writeStateFile(dir, 'many', sections);
    const read = await readSections(dir, handle, keyGroups);
    expect(read.map(decode)).toEqual(sections.map((s) => `group-${s.keyGroup}`));
  });

  it('detects a truncated file', async () => {
    const { handle, keyGroups } = await writeStateFile(dir, 'f', [{ keyGroup: 0, bytes: text('aaaa') }, { keyGroup: 1, bytes: text('bbbb') }]);
    await truncate(join(dir, 'f'), handle.bytes - 2);
    await expect(readSection(dir, handle, keyGroups[0]!)).rejects.toMatchObject({ code: 'CHECKPOINT_CORRUPT', message: expect.stringMatching(/f is corrupt.*truncated/) });
    await expect(readWholeFile(dir, handle)).rejects.toMatchObject({ code: 'CHECKPOINT_CORRUPT' });
  });

  it('detects a corrupted byte in the section read and in the whole file', async () => {
    const { handle, keyGroups } = await writeStateFile(dir, 'f', [{ keyGroup: 0, bytes: text('aaaa') }, { keyGroup: 1, bytes: text('bbbb') }]);
    const bytes = await readFile(join(dir, 'f'));
    const at = keyGroups[1]!.offset + 1;
    bytes[at] = bytes[at]! ^ 0xff;
    await writeFile(join(dir, 'f'), bytes);
    // The untouched section still reads; the damaged one is refused.
    expect(decode(await readSection(dir, handle, keyGroups[0]!))).toBe('aaaa');
    await expect(readSection(dir, handle, keyGroups[1]!)).rejects.toMatchObject({ code: 'CHECKPOINT_CORRUPT', message: expect.stringContaining('key group 1') });
    await expect(readWholeFile(dir, handle)).rejects.toMatchObject({ code: 'CHECKPOINT_CORRUPT', message: expect.stringContaining('CRC-32') });
  });

  it('refuses a file with a foreign header or a newer version', async () => {
    const { handle } = await writeStateFile(dir, 'f', [{ bytes: text('x') }]);
    const bytes = await readFile(join(dir, 'f'));
    const newer = Buffer.from(bytes);
    newer.writeUInt32BE(99, 4);
    await writeFile(join(dir, 'f'), newer);
    await expect(readWholeFile(dir, handle)).rejects.toMatchObject({ code: 'CHECKPOINT_VERSION', message: expect.stringContaining('version 99') });
    const foreign = Buffer.from(bytes);
    foreign[0] = 0x50;
    await writeFile(join(dir, 'f'), foreign);
    await expect(readWholeFile(dir, handle)).rejects.toMatchObject({ code: 'CHECKPOINT_CORRUPT', message: expect.stringContaining('magic') });
  });

  it('reports a missing file as corrupt, naming it', async () => {
    await expect(readWholeFile(dir, { file: 'gone', bytes: 20, crc32: 0 })).rejects.toMatchObject({ code: 'CHECKPOINT_CORRUPT', message: expect.stringContaining('gone') });
  });

  it('rejects bad file names and duplicate key groups', async () => {
    await expect(writeStateFile(dir, '../escape', [])).rejects.toMatchObject({ code: 'CHECKPOINT_INVALID' });
    await expect(writeStateFile(dir, '_metadata', [])).rejects.toMatchObject({ code: 'CHECKPOINT_INVALID' });
    await expect(writeStateFile(dir, 'f', [{ keyGroup: 1, bytes: text('a') }, { keyGroup: 1, bytes: text('b') }])).rejects.toMatchObject({
      code: 'CHECKPOINT_INVALID',
      message: expect.stringContaining('key group 1 given twice'),
    });
  });

  it('creates the checkpoint directory if needed', async () => {
    const nested = join(dir, 'job', 'chk-1');
    const { handle } = await writeStateFile(nested, 'f', [{ bytes: text('hi') }]);
    expect(decode(await readWholeFile(nested, handle))).toBe('hi');
  });
});
