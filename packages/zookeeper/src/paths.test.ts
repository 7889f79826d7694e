import { describe, expect, it } from 'vitest';
import { ancestors, fromServerPath, parseConnectString, toServerPath, validatePath } from './paths.js';
import { batchWatchLists, WatchRegistry } from './watches.js';

describe('connect strings and paths', () => {
  it('parses hosts, IPv6 in brackets, default ports and a chroot', () => {
    expect(parseConnectString('a:1, b:2 ,[::1]:3,c/app/x')).toEqual({
      servers: [
        { host: 'a', port: 1 },
        { host: 'b', port: 2 },
        { host: '::1', port: 3 },
        { host: 'c', port: 2181 },
      ],
      chroot: '/app/x',
    });
    expect(parseConnectString('a:1/').chroot).toBe('');
    expect(() => parseConnectString('[::1:3')).toThrow(/does not close/);
    expect(() => parseConnectString(':5')).toThrow(/has no host/);
  });

  it('validates znode paths', () => {
    for (const ok of ['/', '/a', '/a/b-1/c.d', '/a/..b']) expect(() => validatePath(ok), ok).not.toThrow();
    for (const bad of ['a', '/a/', '/a//b', '/a/../b', '/a/\u0001']) expect(() => validatePath(bad), bad).toThrow(/invalid ZooKeeper path/);
  });

  it('maps paths through a chroot both ways', () => {
    expect(toServerPath('/r', '/')).toBe('/r');
    expect(toServerPath('/r', '/x/y')).toBe('/r/x/y');
    expect(toServerPath('', '/x')).toBe('/x');
    expect(fromServerPath('/r', '/r')).toBe('/');
    expect(fromServerPath('/r', '/r/x')).toBe('/x');
    expect(fromServerPath('/r', '/rx')).toBe('/rx');
    expect(ancestors('/a/b/c')).toEqual(['/a', '/a/b']);
    expect(ancestors('/a')).toEqual([]);
  });
});

describe('watches', () => {
  it('fires the kinds ZooKeeper fires for each event, each watcher once', () => {
    const r = new WatchRegistry();
    const calls: string[] = [];
    const w = (name: string) => () => calls.push(name);
    const shared = w('shared');
    r.add('data', '/n', shared);
    r.add('exist', '/n', shared);
    r.add('data', '/n', shared);
    r.add('child', '/n', w('child'));
    for (const watcher of r.take('dataChanged', '/n')) watcher({ type: 'dataChanged', path: '/n' });
    expect(calls).toEqual(['shared']);
    expect(r.lists()).toEqual({ data: [], exist: [], child: ['/n'] });
    expect(r.take('deleted', '/n')).toHaveLength(1);
    expect(r.size).toBe(0);
  });

  it('splits SetWatches into packets under the size bound', () => {
    const paths = Array.from({ length: 10 }, (_, i) => `/p${i}`.padEnd(100, 'x'));
    const batches = batchWatchLists({ data: paths, exist: paths.slice(0, 3), child: [] }, 450);
    expect(batches.length).toBeGreaterThan(1);
    expect(batches.flatMap((b) => b.data)).toEqual(paths);
    expect(batches.flatMap((b) => b.exist)).toEqual(paths.slice(0, 3));
    for (const b of batches) expect([...b.data, ...b.exist].length).toBeLessThanOrEqual(4);
  });
});
