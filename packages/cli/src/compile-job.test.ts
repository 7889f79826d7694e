import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileJob } from './compile-job.js';

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sluice-compile-job-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function write(path: string, text: string): Promise<string> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
  return path;
}

describe('compileJob', () => {
  it('bundles TypeScript into node_modules/.cache/sluice, keeping bare imports external', async () => {
    const project = join(root, 'project');
    await write(join(project, 'node_modules/fake-dep/package.json'), JSON.stringify({ name: 'fake-dep', type: 'module', exports: './index.js' }));
    await write(join(project, 'node_modules/fake-dep/index.js'), 'export const greet = (n) => `hello ${n}`;\n');
    await write(join(project, 'jobs/helper.ts'), 'export function twice(n: number): number { return n * 2; }\n');
    const job = await write(
      join(project, 'jobs/job.ts'),
      "import { greet } from 'fake-dep';\nimport { twice } from './helper.js';\nconst n: number = 21;\nexport default function build(): string { return `${greet('sluice')} ${twice(n)}`; }\n",
    );

    const out = await compileJob(job);
    expect(out).toMatch(new RegExp(`^${join(project, 'node_modules/.cache/sluice/job-')}[0-9a-f]{16}\\.mjs$`));
    const code = await readFile(out, 'utf8');
    expect(code).toMatch(/from "fake-dep"/);
    expect(code).toContain('//# sourceMappingURL=data:application/json;base64,');
    const mod = (await import(pathToFileURL(out).href)) as { default: () => string };
    expect(mod.default()).toBe('hello sluice 42');

    // Same content → same file, not rewritten.
    const before = (await stat(out)).mtimeMs;
    expect(await compileJob(job)).toBe(out);
    expect((await stat(out)).mtimeMs).toBe(before);
  });

  it('uses JavaScript jobs as they are', async () => {
    const job = await write(join(root, 'plain/job.mjs'), 'export default () => 1;\n');
    expect(await compileJob(job)).toBe(job);
  });

  it('reports a syntax error as one line with file:line:column', async () => {
    const job = await write(join(root, 'project/jobs/broken.ts'), 'export default function build() {\n  const x = ;\n}\n');
    await expect(compileJob(job)).rejects.toThrow(`cannot compile job: ${job}:2:13: Unexpected ";"`);
  });

  it('reports an unresolvable relative import with its location', async () => {
    const job = await write(join(root, 'project/jobs/missing-dep.ts'), "import './no-such-file.js';\nimport './nor-this.js';\n");
    await expect(compileJob(job)).rejects.toThrow(
      `cannot compile job: ${job}:1:8: Could not resolve "./no-such-file.js" (and 1 more errors)`,
    );
  });

  it('names a missing file and an unsupported extension', async () => {
    const missing = join(root, 'nope.ts');
    await expect(compileJob(missing)).rejects.toThrow(`job file not found: '${missing}' (looked at ${missing}); check the path`);
    const cjs = await write(join(root, 'job.cjs'), 'module.exports = 1;\n');
    await expect(compileJob(cjs)).rejects.toThrow(
      `unsupported job file '${cjs}': a job is an ES module ending in .ts, .mts, .js or .mjs (got '.cjs')`,
    );
    await expect(compileJob(root)).rejects.toThrow(`job file '${root}' is not a file (${root}); pass the job's .ts or .js module`);
  });

  it.skipIf(hasNodeModulesAbove(tmpdir()))('without node_modules, bundles into the temp dir and links @sluice packages of the CLI', async () => {
    const job = await write(
      join(root, 'lonely/job.ts'),
      "import { ConfigurationError } from '@sluice/common';\nexport default (): Error => new ConfigurationError('from job');\n",
    );
    const out = await compileJob(job);
    expect(out.startsWith(join(tmpdir(), 'sluice-jobs'))).toBe(true);
    const code = await readFile(out, 'utf8');
    expect(code).toMatch(/from "file:\/\/[^"]*\/common\/dist\/index\.js"/);
    const mod = (await import(pathToFileURL(out).href)) as { default: () => Error };
    expect(mod.default().name).toBe('ConfigurationError');
  });
});

function hasNodeModulesAbove(dir: string): boolean {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, 'node_modules'))) return true;
    if (dirname(d) === d) return false;
  }
}
