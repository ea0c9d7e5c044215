// The embedded engine (chdb's 543 MB native library) is loaded only when a client without
// `url` is used: checked in a fresh process through its memory map, the place a loaded
// shared library shows up whatever imported it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';

const run = promisify(execFile);
const INDEX = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), 'index.js')).href;

async function child(script: string, nodeArgs: string[] = []): Promise<Record<string, unknown>> {
  const { stdout } = await run(process.execPath, [...nodeArgs, '--input-type=module', '-e', script], { timeout: 60_000 });
  return JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
}

const LOADED = `const { readFileSync } = await import('node:fs'); const loaded = () => readFileSync('/proc/self/maps', 'utf8').includes('libchdb');`;

describe('embedded engine loading', { skip: process.platform !== 'linux' && 'reads /proc/self/maps' }, () => {
  it('is not loaded by a server-mode client, and is loaded on the first use of an embedded one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'calltrack-lazy-chdb-'));
    try {
      const out = await child(`
        ${LOADED}
        const { createClickHouse } = await import(${JSON.stringify(INDEX)});
        const http = createClickHouse({ url: 'http://127.0.0.1:9' });
        const afterHttp = loaded();
        await http.close();
        const embedded = createClickHouse({ dataDir: ${JSON.stringify(dir)} });
        const rows = await embedded.query('SELECT 1 AS one');
        const afterQuery = loaded();
        await embedded.close();
        console.log(JSON.stringify({ afterHttp, afterQuery, rows }));
      `);
      assert.equal(out['afterHttp'], false, 'a server-mode client must not map libchdb');
      assert.equal(out['afterQuery'], true);
      assert.deepEqual(out['rows'], [{ one: 1 }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says what to do when chdb is not installed (the production image)', async () => {
    // A resolve hook stands in for an install without optional dependencies.
    const hook =
      `import { registerHooks } from 'node:module';
      registerHooks({ resolve(spec, ctx, next) { ` +
      `if (spec === 'chdb' || spec.startsWith('chdb/')) { const e = new Error('Cannot find package ' + spec); e.code = 'ERR_MODULE_NOT_FOUND'; throw e; } ` +
      `return next(spec, ctx); } });`;
    const out = await child(
      `
      const { createClickHouse, EmbeddedEngineUnavailableError } = await import(${JSON.stringify(INDEX)});
      const embedded = createClickHouse({});
      const error = await embedded.query('SELECT 1').then(() => undefined, (e) => e);
      await embedded.close();
      console.log(JSON.stringify({ name: error?.name, unavailable: error instanceof EmbeddedEngineUnavailableError, message: error?.message }));
    `,
      ['--import', `data:text/javascript,${encodeURIComponent(hook)}`],
    );
    assert.equal(out['unavailable'], true, JSON.stringify(out));
    assert.match(String(out['message']), /set CLICKHOUSE_URL/);
  });
});
