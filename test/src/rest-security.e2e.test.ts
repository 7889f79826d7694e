/**
 * The REST API of a real `sluice run` against what a hostile web page or a careless request can
 * send: a cross-origin simple request, a form post, a DNS-rebound Host, no or a wrong token, a
 * `..` savepoint target and targets outside the allowed savepoint roots. Each is refused and the
 * job keeps running; the sluice client commands, which find the token by themselves, still work.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cliProcesses, exitWithin, lines, submitted, type CliProcesses } from './cli-process.js';
import { jobPath } from './harness.js';

let scratch = '';
let sluice: CliProcesses;

beforeAll(() => {
  // realpath: the CLI reports resolved paths, and tmpdir() may be a symlink.
  scratch = realpathSync(mkdtempSync(join(tmpdir(), 'sluice-rest-security-e2e-')));
  sluice = cliProcesses(scratch);
});
afterEach(() => sluice.killAll());
afterAll(() => {
  if (scratch !== '') rmSync(scratch, { recursive: true, force: true });
});

interface Reply {
  status: number;
  code: string | undefined;
  message: string;
}

/** One raw exchange with exactly these headers, as a browser or curl would send it. */
function send(address: string, method: string, path: string, headers: Record<string, string>, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, address), { method, headers, agent: false }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (data += d));
      res.on('end', () => {
        const error = (JSON.parse(data) as { error?: { code: string; message: string } }).error;
        resolve({ status: res.statusCode ?? 0, code: error?.code, message: error?.message ?? '' });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A throttled job that runs until stopped, with checkpoints (savepoints need them) and a free REST port. */
const RESUMABLE = (out: string): string[] => ['run', jobPath('resumable.ts'), '-D', `out=${out}`, '-D', 'rate=500', '--checkpoint-interval', '200ms', '--checkpoint-dir', 'chk', '--rest-port', '0'];

/** The job's status as `sluice list` prints it. */
async function statusOf(address: string, jobId: string): Promise<string | undefined> {
  const r = await sluice.run(['list', '--address', address]);
  return new RegExp(`^${jobId} +(\\S+)`, 'm').exec(r.stdout)?.[1];
}

describe('the REST API of sluice run', () => {
  it('refuses what a web page or a request without the token sends, and keeps the job running', async () => {
    const run = sluice.start(RESUMABLE(join(scratch, 'out-1')));
    const { jobId, address, token, tokenFile } = await submitted(run);
    const port = new URL(address).port;

    const cancel = `/jobs/${jobId}/cancel`;
    // A page of another site posting JSON text as text/plain: a "simple request" a browser sends without asking.
    const simple = await send(address, 'POST', cancel, { 'content-type': 'text/plain;charset=UTF-8', origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }, '{}');
    expect(simple).toMatchObject({ status: 403, code: 'FORBIDDEN_ORIGIN' });
    // A form post, even with the token.
    const form = await send(address, 'POST', `/jobs/${jobId}/stop`, { 'content-type': 'application/x-www-form-urlencoded', authorization: `Bearer ${token}` }, `targetDirectory=${encodeURIComponent(scratch)}`);
    expect(form).toMatchObject({ status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
    // DNS rebinding: the attacker's name, resolved to 127.0.0.1.
    const rebound = await send(address, 'GET', '/jobs', { host: `evil.example:${port}` });
    expect(rebound).toMatchObject({ status: 403, code: 'FORBIDDEN_HOST' });
    expect(rebound.message).toContain(`Host 'evil.example:${port}' refused`);
    // No token, a wrong token.
    const json = { 'content-type': 'application/json' };
    const none = await send(address, 'POST', cancel, json, '{}');
    expect(none).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
    expect(none.message).toContain(`keeps it in ${tokenFile}`);
    const wrong = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
    expect(await send(address, 'POST', cancel, { ...json, authorization: `Bearer ${wrong}` }, '{}')).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
    // '..' in the target, with the right token: refused before anything is created.
    const traversal = await send(address, 'POST', `/jobs/${jobId}/savepoints`, { ...json, authorization: `Bearer ${token}` }, JSON.stringify({ targetDirectory: `${scratch}/x/../escaped-sp` }));
    expect(traversal).toMatchObject({ status: 400, code: 'SAVEPOINT_TARGET' });
    expect(existsSync(join(scratch, 'escaped-sp'))).toBe(false);
    expect(existsSync(join(scratch, 'x'))).toBe(false);
    expect(await statusOf(address, jobId)).toBe('RUNNING');

    // The token file: the default place for the bound port, private, holding the printed token.
    expect(tokenFile).toBe(join(scratch, '.sluice', `rest-${port}.token`));
    expect(readFileSync(tokenFile, 'utf8')).toBe(`${token}\n`);
    expect((statSync(tokenFile).mode & 0o777).toString(8)).toBe('600');
    expect((statSync(join(scratch, '.sluice')).mode & 0o777).toString(8)).toBe('700');

    // A client without the token is told where it looked; one with a stale token is told which it sent.
    const elsewhere = join(scratch, 'other-home');
    const lost = await sluice.run(['cancel', jobId, '--address', address], { env: { SLUICE_HOME: elsewhere } });
    expect(lost).toMatchObject({ code: 1, stdout: '' });
    expect(lost.stderr).toBe(
      `sluice: error: no REST token for ${address}: SLUICE_REST_TOKEN is not set and ${join(elsewhere, `rest-${port}.token`)} does not exist. ` +
        "A cluster ('sluice cluster start') and 'sluice run' keep their token in that file and print it at start; pass --token-file PATH or set SLUICE_REST_TOKEN\n",
    );
    const stale = await sluice.run(['cancel', jobId, '--address', address], { env: { SLUICE_REST_TOKEN: 'x'.repeat(43) } });
    expect(stale.code).toBe(1);
    expect(stale.stderr).toMatch(/^sluice: error: wrong bearer token; .* \(the token sent came from \$SLUICE_REST_TOKEN\)\n$/);
    expect(await statusOf(address, jobId)).toBe('RUNNING');

    // The same requests done right: curl with the token file, and the CLI finding it by itself.
    const sp = await send(address, 'POST', `/jobs/${jobId}/savepoints`, { 'content-type': 'application/json; charset=utf-8', authorization: `Bearer ${readFileSync(tokenFile, 'utf8').trim()}` }, JSON.stringify({ targetDirectory: join(scratch, 'sp') }));
    expect(sp.status).toBe(200);
    expect(readdirSync(join(scratch, 'sp'))).toHaveLength(1);
    const cancelled = await sluice.run(['cancel', jobId, '--address', address]);
    expect(cancelled).toMatchObject({ code: 0, stdout: `Cancelling job ${jobId}\n`, stderr: '' });
    const r = await exitWithin(run, 15_000);
    expect(r.code).toBe(130);
    expect(existsSync(tokenFile)).toBe(false);
  }, 90_000);

  it('confines savepoints to --savepoint-root, symlinks resolved; --rest-token-file and --rest-allowed-host', async () => {
    const root = join(scratch, 'root');
    const outside = join(scratch, 'outside');
    mkdirSync(root);
    mkdirSync(outside);
    symlinkSync(outside, join(root, 'escape'));
    const run = sluice.start([...RESUMABLE(join(scratch, 'out-2')), '--savepoint-root', 'root', '--rest-token-file', 'tokens/run.token', '--rest-allowed-host', 'devbox']);
    const { jobId, address, tokenFile } = await submitted(run);
    expect(tokenFile).toBe(join(scratch, 'tokens', 'run.token'));
    const client = ['--address', address, '--rest-token-file', tokenFile];

    const inside = await sluice.run(['savepoint', jobId, 'root/sp', ...client], { timeoutMs: 15_000 });
    expect(inside).toMatchObject({ code: 0, stderr: '' });
    expect(inside.stdout.startsWith(join(root, 'sp', 'savepoint-'))).toBe(true);

    for (const target of ['outside/sp', 'root/escape/sp']) {
      const refused = await sluice.run(['stop', jobId, '--savepoint-path', target, ...client]);
      expect(refused.code).toBe(1);
      expect(lines(refused.stderr)).toEqual([expect.stringMatching(new RegExp(`^sluice: error: savepoint directory ${join(scratch, target)} is outside the allowed savepoint roots.*; choose a directory inside ${root}$`))]);
    }
    expect(readdirSync(outside)).toEqual([]);
    expect(await statusOf(address, jobId)).toBe('RUNNING');

    // The extra name is answered; any other is not.
    const port = new URL(address).port;
    expect((await send(address, 'GET', '/jobs', { host: `devbox:${port}` })).status).toBe(200);
    expect((await send(address, 'GET', '/jobs', { host: `devbox2:${port}` })).status).toBe(403);

    const stop = await sluice.run(['stop', jobId, '--savepoint-path', 'root/final', ...client], { timeoutMs: 15_000 });
    expect(stop.code).toBe(0);
    expect((await exitWithin(run, 15_000)).code).toBe(0);
    expect(existsSync(tokenFile)).toBe(false);
  }, 90_000);
});
