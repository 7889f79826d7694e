import { describe, expect, it } from 'vitest';
import { Counter, Registry } from 'prom-client';
import { createMetricsServer } from './server.js';

describe('createMetricsServer', () => {
  it('serves /metrics on a random loopback port, 404s elsewhere, and closes', async () => {
    const registry = new Registry();
    new Counter({ name: 'sluice_test_total', help: 'test', registers: [registry] }).inc(3);
    const server = await createMetricsServer({ port: 0, registry });
    try {
      expect(server.port).toBeGreaterThan(0);
      expect(server.url).toBe(`http://127.0.0.1:${server.port}/metrics`);

      const ok = await fetch(server.url);
      expect(ok.status).toBe(200);
      expect(ok.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
      expect(await ok.text()).toContain('sluice_test_total 3');

      const withQuery = await fetch(`${server.url}?name[]=x`);
      expect(withQuery.status).toBe(200);
      await withQuery.text();

      const missing = await fetch(`http://127.0.0.1:${server.port}/`);
      expect(missing.status).toBe(404);
      await missing.text();

      const post = await fetch(server.url, { method: 'POST' });
      expect(post.status).toBe(405);
      await post.text();
    } finally {
      await server.close();
    }
    await expect(fetch(server.url)).rejects.toThrow();
    await server.close(); // idempotent
  });

  it('answers 500 with the reason when collecting fails', async () => {
    const registry = { contentType: 'text/plain', metrics: () => Promise.reject(new Error('snapshot failed')) };
    const server = await createMetricsServer({ port: 0, registry });
    try {
      const res = await fetch(server.url);
      expect(res.status).toBe(500);
      expect(await res.text()).toBe('collecting metrics failed: snapshot failed\n');
    } finally {
      await server.close();
    }
  });

  it('rejects invalid and busy ports with a configuration error', async () => {
    const registry = new Registry();
    await expect(createMetricsServer({ port: 70000, registry })).rejects.toThrow(
      'metrics server: port must be an integer in 0..65535 (0 = any free port), got 70000',
    );
    const first = await createMetricsServer({ port: 0, registry });
    try {
      await expect(createMetricsServer({ port: first.port, registry })).rejects.toThrow(
        `metrics server cannot listen: port ${first.port} on 127.0.0.1 is already in use; choose another port or 0 for any free port`,
      );
    } finally {
      await first.close();
    }
  });
});
