import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigurationError } from '@sluice/common';
import { defaultTokenFile, findClientToken, portOf, prepareTokenDirectory, readTokenSource, removeTokenFile, stateDirectory, writeTokenFile } from './rest-token.js';

let scratch = '';
beforeAll(() => {
  scratch = realpathSync(mkdtempSync(join(tmpdir(), 'sluice-rest-token-')));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const TOKEN = 'a'.repeat(43);
const mode = (path: string): string => (statSync(path).mode & 0o7777).toString(8);

describe('where the token lives', () => {
  it('is rest-<port>.token in $SLUICE_HOME, else in ~/.sluice', () => {
    expect(stateDirectory({ SLUICE_HOME: '/srv/sluice' })).toBe('/srv/sluice');
    expect(stateDirectory({ SLUICE_HOME: ' ' })).toBe(join(homedir(), '.sluice'));
    expect(defaultTokenFile({}, 8081)).toBe(join(homedir(), '.sluice', 'rest-8081.token'));
    expect(defaultTokenFile({ SLUICE_HOME: '/srv/sluice' }, 40123)).toBe('/srv/sluice/rest-40123.token');
    expect(portOf('http://127.0.0.1:8081')).toBe(8081);
    expect(portOf('http://devbox/sluice')).toBe(80);
  });
});

describe('the token a cluster is given (--rest-token-from)', () => {
  it('is the whole file without its trailing newline (a mounted secret holds exactly the token)', () => {
    const file = join(scratch, 'given.token');
    writeFileSync(file, `${TOKEN}\n`);
    expect(readTokenSource(file)).toBe(TOKEN);
    writeFileSync(file, `${TOKEN}==`);
    expect(readTokenSource(file)).toBe(`${TOKEN}==`);
  });

  it('refuses a missing file and a file that holds no usable token, naming the file and the rule', () => {
    const missing = join(scratch, 'absent.token');
    expect(() => readTokenSource(missing)).toThrow(new RegExp(`^--rest-token-from ${missing} cannot be read \\(.*ENOENT`));
    const file = join(scratch, 'short.token');
    for (const bad of ['short', `${TOKEN} with spaces`, `${TOKEN}\n\n`, '']) {
      writeFileSync(file, bad);
      expect(() => readTokenSource(file)).toThrow(ConfigurationError);
      expect(() => readTokenSource(file)).toThrow(`--rest-token-from ${file} does not hold a usable REST token: it must be 32 to 512 characters`);
    }
  });
});

describe('writing the token file', () => {
  it('creates the directory 0700 and the file 0600, atomically (no temporary file left), and removes only its own token', () => {
    const file = join(scratch, 'state', 'nested', 'rest-8081.token');
    writeTokenFile(file, TOKEN);
    expect(mode(join(scratch, 'state', 'nested'))).toBe('700');
    expect(mode(file)).toBe('600');
    expect(readFileSync(file, 'utf8')).toBe(`${TOKEN}\n`);
    // Over an existing file, and over a symlink planted where the file goes: replaced, not followed.
    const target = join(scratch, 'planted-target');
    writeFileSync(target, 'keep me');
    rmSync(file);
    symlinkSync(target, file);
    writeTokenFile(file, 'b'.repeat(43));
    expect(readFileSync(target, 'utf8')).toBe('keep me');
    expect(readFileSync(file, 'utf8')).toBe(`${'b'.repeat(43)}\n`);
    expect(readdirSync(join(scratch, 'state', 'nested'))).toEqual(['rest-8081.token']);

    removeTokenFile(file, TOKEN); // another run's token by now: left alone
    expect(existsSync(file)).toBe(true);
    removeTokenFile(file, 'b'.repeat(43));
    expect(existsSync(file)).toBe(false);
    removeTokenFile(file, 'b'.repeat(43)); // gone already: no error
  });

  it('refuses a directory writable by others, or inside one without the sticky bit', () => {
    const open = join(scratch, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    expect(() => prepareTokenDirectory(join(open, 'rest.token'))).toThrow(
      `refusing to keep the REST token in ${open}: ${open} is writable by others (mode 777); chmod 700 ${open}. Choose another place with --rest-token-file PATH or SLUICE_HOME=DIR`,
    );
    const groupWritable = join(scratch, 'group');
    mkdirSync(groupWritable);
    chmodSync(groupWritable, 0o770);
    expect(() => prepareTokenDirectory(join(groupWritable, 'rest.token'))).toThrow(/is writable by others \(mode 770\)/);
    // Private itself, but another user could rename it away from inside `open`.
    expect(() => writeTokenFile(join(open, 'private', 'rest.token'), TOKEN)).toThrow(`refusing to keep the REST token in ${join(open, 'private')}: ${open}, which contains it, is writable by others (mode 777)`);
    expect(existsSync(join(open, 'private', 'rest.token'))).toBe(false);
    // A directory like /tmp (world-writable, sticky): refused itself; a private directory inside it is fine.
    const sticky = join(scratch, 'sticky');
    mkdirSync(sticky);
    chmodSync(sticky, 0o1777);
    expect(() => prepareTokenDirectory(join(sticky, 'rest.token'))).toThrow(/is writable by others \(mode 1777\)/);
    writeTokenFile(join(sticky, 'private', 'rest.token'), TOKEN);
    expect(mode(join(sticky, 'private'))).toBe('700');
  });

  it('refuses a directory that belongs to another user', () => {
    // As root, a directory given to 'nobody'; as anyone else, a directory of root's.
    let foreign = '/';
    if (process.getuid?.() === 0) {
      foreign = join(scratch, 'foreign');
      mkdirSync(foreign, { mode: 0o700 });
      chownSync(foreign, 65534, 65534);
    }
    expect(() => prepareTokenDirectory(join(foreign, 'rest.token'))).toThrow(/belongs to another user \(uid \d+\)/);
  });

  it('says why when the directory cannot be created', () => {
    const file = join(scratch, 'a-file');
    writeFileSync(file, '');
    expect(() => prepareTokenDirectory(join(file, 'rest.token'))).toThrow(`cannot keep the REST token in ${file} (it exists and is not a directory); choose another place`);
    // Under /proc Node's recursive mkdir would never return: refused at once instead.
    expect(() => prepareTokenDirectory('/proc/sluice-test/rest.token')).toThrow(/^cannot keep the REST token in \/proc\/sluice-test \(.*procfs/);
  });
});

describe('finding the token for a client command', () => {
  const address = 'http://127.0.0.1:40123';

  it('takes --rest-token-file first, then $SLUICE_REST_TOKEN, then the default file for the port', () => {
    const home = join(scratch, 'client-home');
    writeTokenFile(join(home, 'rest-40123.token'), 'from-default-file');
    writeTokenFile(join(scratch, 'mine', 'my.token'), 'from-flag');
    const env = { SLUICE_HOME: home, SLUICE_REST_TOKEN: 'from-env' };
    expect(findClientToken(address, 'mine/my.token', env, scratch)).toEqual({ token: 'from-flag', source: join(scratch, 'mine', 'my.token') });
    expect(findClientToken(address, undefined, env, scratch)).toEqual({ token: 'from-env', source: '$SLUICE_REST_TOKEN' });
    expect(findClientToken(address, undefined, { SLUICE_HOME: home }, scratch)).toEqual({ token: 'from-default-file', source: join(home, 'rest-40123.token') });
  });

  it('names the places it tried when there is no token', () => {
    const home = join(scratch, 'empty-home');
    expect(() => findClientToken(address, undefined, { SLUICE_HOME: home }, scratch)).toThrow(
      `no REST token for ${address}: SLUICE_REST_TOKEN is not set and ${join(home, 'rest-40123.token')} does not exist. ` +
        "A cluster ('sluice cluster start') and 'sluice run' keep their token in that file and print it at start; pass --token-file PATH or set SLUICE_REST_TOKEN",
    );
    expect(() => findClientToken(address, 'missing.token', {}, scratch)).toThrow(`no REST token for ${address}: ${join(scratch, 'missing.token')} does not exist.`);
    writeFileSync(join(scratch, 'empty.token'), '\n');
    expect(() => findClientToken(address, 'empty.token', {}, scratch)).toThrow(`no REST token for ${address}: ${join(scratch, 'empty.token')} is empty`);
  });
});
