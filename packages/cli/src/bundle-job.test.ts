import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleJob } from './compile-job.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sluice-bundle-job-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function write(path: string, text: string): Promise<string> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
  return path;
}

describe('bundleJob', () => {
  it('bundles the job and its packages into one module that imports only @sluice/*', async () => {
    const project = join(root, 'project');
    await write(join(project, 'node_modules/fake-dep/package.json'), JSON.stringify({ name: 'fake-dep', type: 'module', exports: './index.js' }));
    await write(join(project, 'node_modules/fake-dep/index.js'), 'export const greet = (n) => `hello ${n}`;\n');
    await write(join(project, 'jobs/helper.ts'), 'export function twice(n: number): number { return n * 2; }\n');
    const job = await write(
      join(project, 'jobs/job.ts'),
      "import { greet } from 'fake-dep';\nimport { DataStream } from '@sluice/api';\nimport { twice } from './helper.js';\n" +
        'export default function build(): string { return `${greet(typeof DataStream)} ${twice(21)}`; }\n',
    );

    const bundle = await bundleJob(job);
    const code = Buffer.from(bundle.bytes).toString('utf8');
    expect(code).toMatch(/from "@sluice\/api"/);
    expect(code).not.toMatch(/from "fake-dep"|from "\.\/helper/);
    expect(await readFile(bundle.file)).toEqual(Buffer.from(bundle.bytes));
    // The project's node_modules has no Sluice: the copy goes where @sluice/* resolve, the CLI's.
    expect(bundle.file.startsWith(project)).toBe(false);
    expect(bundle.file).toMatch(/node_modules\/\.cache\/sluice\/job-[0-9a-f]{16}\.mjs$/);
    const mod = (await import(pathToFileURL(bundle.file).href)) as { default: () => string };
    expect(mod.default()).toBe('hello function 42');
    expect((await bundleJob(job)).file).toBe(bundle.file);
  });

  it('bundles JavaScript jobs too, so relative imports travel with them', async () => {
    await write(join(root, 'plain/lib.mjs'), 'export const n = 7;\n');
    const job = await write(join(root, 'plain/job.mjs'), "import { n } from './lib.mjs';\nexport default () => n;\n");
    const bundle = await bundleJob(job);
    expect(bundle.file).not.toBe(job);
    expect(Buffer.from(bundle.bytes).toString('utf8')).not.toMatch(/from "\.\/lib\.mjs"/);
    const mod = (await import(pathToFileURL(bundle.file).href)) as { default: () => number };
    expect(mod.default()).toBe(7);
  });

  it('names a missing file and an unsupported extension as compileJob does', async () => {
    const missing = join(root, 'nope.ts');
    await expect(bundleJob(missing)).rejects.toThrow(`job file not found: '${missing}'`);
    const cjs = await write(join(root, 'job.cjs'), 'module.exports = 1;\n');
    await expect(bundleJob(cjs)).rejects.toThrow("a job is an ES module ending in .ts, .mts, .js or .mjs (got '.cjs')");
  });
});
