import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../bench/servers.js';
import { tempDir } from './helpers.js';
import { startFolio } from './server-process.js';

// FOLIO_METRICS_PORT: metrics on a port of their own, never on the public one; with
// `serve --workers N` the primary answers with the sum over every worker.

/** The value of one sample line, summed over the series that match `labels`. */
function sample(text: string, name: string, labels: string): number {
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) && line.includes(labels))
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
}

describe('FOLIO_METRICS_PORT', () => {
  it('serves the metrics of every worker on their own port, and nothing on the main one', async () => {
    const dir = tempDir();
    const metricsPort = await freePort();
    const server = await startFolio(
      {
        FOLIO_DATABASE_URL: `sqlite:${path.join(dir, 'folio.db')}`,
        FOLIO_METRICS_PORT: String(metricsPort),
      },
      dir,
      ['--workers', '2'],
    );
    for (let i = 0; i < 40; i++) {
      const response = await fetch(`${server.base}/api/status/live`);
      expect(response.status).toBe(200);
    }
    expect((await fetch(`${server.base}/metrics`)).status).toBe(404);
    const scraped = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    const text = await scraped.text();
    expect(scraped.status, text).toBe(200);
    // Both workers answered some of the 40 (and the start-up checks): the sum covers them all.
    expect(sample(text, 'folio_http_requests_total', 'route="/api/status/live",status="200"')).toBe(40);
    expect((await fetch(`http://127.0.0.1:${metricsPort}/other`)).status).toBe(404);
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  }, 60_000);
});
