import { describe, expect, it } from 'vitest';
import { Counter, Registry } from 'prom-client';
import { combineRegistries, createMetricsServer } from './server.js';

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

describe('combineRegistries', () => {
  function registryWith(name: string, value: number, labels: Record<string, string>): Registry {
    const registry = new Registry();
    registry.setDefaultLabels(labels);
    new Counter({ name, help: 'test', registers: [registry] }).inc(value);
    return registry;
  }

  it('serves several registries as one target, each keeping its own default labels', async () => {
    const tm = registryWith('sluice_a_total', 2, { taskmanager: 'tm-1' });
    const jobs = registryWith('sluice_b_total', 3, {});
    const combined = combineRegistries(tm, jobs);
    expect(combined.contentType).toBe(tm.contentType);
    const text = await combined.metrics();
    expect(text).toBe(`${await tm.metrics()}${await jobs.metrics()}`);
    expect(text).toContain('sluice_a_total{taskmanager="tm-1"} 2\n');
    expect(text).toContain('sluice_b_total 3\n');
  });

  it('refuses OpenMetrics registries and mixed content types', () => {
    const text = { contentType: 'text/plain; version=0.0.4; charset=utf-8', metrics: async () => '' };
    const open = { contentType: 'application/openmetrics-text; version=1.0.0; charset=utf-8', metrics: async () => '# EOF\n' };
    expect(() => combineRegistries(text, open)).toThrow(/OpenMetrics output ends with '# EOF'/);
    expect(() => combineRegistries(text, { ...text, contentType: 'text/plain' })).toThrow('all registries must have one content type');
    expect(() => combineRegistries()).toThrow('pass at least one registry');
  });
});
