// The chaos run in CI (docs/chaos.md): two minutes of visits and signed calls while each
// service is SIGKILLed and restarted and the broker is restarted and killed, on a broker of
// its own (a free port, never the shared test broker) and its own topic prefix and ClickHouse
// directory. The run checks itself; this test asserts that it found no violation, that it
// really did the faults and the traffic it claims, and that it cleaned up after itself.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { freePort } from '@calltrack/testing';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

interface Row {
  check: string;
  value: string | number;
  ok: boolean | null;
  detail: string;
}
interface Result {
  rows: Row[];
  faults: Array<{ kind: string; target: string; doneMs?: number }>;
}

function runChaos(env: Record<string, string>, limitMs: number): Promise<{ code: number | null; output: string }> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [join(ROOT, 'scripts/chaos/run.mjs')], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    // SIGTERM lets the run stop its services and broker and delete its data.
    const timer = setTimeout(() => child.kill('SIGTERM'), limitMs);
    child.once('error', rej);
    child.once('exit', (code) => {
      clearTimeout(timer);
      res({ code, output });
    });
  });
}

const listening = (port: number): Promise<boolean> =>
  new Promise((res) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => (socket.destroy(), res(true)));
    socket.once('error', () => res(false));
  });

describe('chaos run', () => {
  it('loses, duplicates and forges nothing while services and the broker are killed', { timeout: 40 * 60_000 }, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'calltrack-chaos-test-'));
    const kafkaPort = await freePort();
    const controllerPort = await freePort();
    const kafkaHome = join(dir, 'kafka');
    const dataDir = join(dir, 'clickhouse');
    try {
      const { code, output } = await runChaos(
        {
          CHAOS_SECONDS: '120',
          CHAOS_KAFKA_PORT: String(kafkaPort),
          CHAOS_KAFKA_CONTROLLER_PORT: String(controllerPort),
          CHAOS_KAFKA_HOME_DIR: kafkaHome,
          CHAOS_DATA_DIR: dataDir,
          CHAOS_OUT_DIR: join(dir, 'out'),
          CHAOS_TOPIC_PREFIX: `test.chaos.${randomUUID().slice(0, 8)}.`,
        },
        38 * 60_000,
      );
      t.diagnostic(output.slice(Math.max(0, output.indexOf('\ncheck '))));
      // It cleaned up, whatever it found: its broker is stopped and its data deleted.
      assert.equal(await listening(kafkaPort), false, 'the chaos broker still listens');
      assert.equal(existsSync(kafkaHome), false);
      assert.equal(existsSync(dataDir), false);
      assert.equal(code, 0, `the chaos run found violations or failed:\n${output.slice(-6000)}`);
      const result = JSON.parse(readFileSync(join(dir, 'out/result.json'), 'utf8')) as Result;
      assert.ok(result.rows.every((r) => r.ok !== false));
      // It did what it claims: every fault, and enough traffic to judge.
      assert.deepEqual(
        result.faults.map((f) => `${f.kind} ${f.target}`).sort(),
        [
          'broker-kill kafka',
          'broker-stop kafka',
          ...['antifraud', 'attribution', 'conversion-export', 'number-pool', 'session-tracker', 'telephony-ingest'].map((s) => `kill ${s}`),
        ].sort(),
      );
      assert.ok(result.faults.every((f) => f.doneMs));
      const sent = String(result.rows.find((r) => r.check.startsWith('calls sent'))?.value ?? '0 / 0');
      const [calls, acked] = sent.split(' / ').map(Number);
      assert.ok(calls! >= 100 && acked! >= 100, `too little traffic to judge: ${sent}`);
    } catch (error) {
      // The services' logs outlive the run's temporary directory, beside the test results, to find out why.
      const kept = join(process.env['TEST_RESULTS_DIR'] ?? join(ROOT, '.cache/test-results'), 'chaos-logs');
      cpSync(join(dir, 'out'), kept, { recursive: true, force: true });
      t.diagnostic(`logs kept in ${kept}`);
      throw error;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
