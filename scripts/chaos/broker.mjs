// The chaos run's own Kafka broker: started, stopped and killed through the same scripts a
// developer uses (scripts/kafka/start.sh and stop.sh), on its own port and home directory,
// so that no other broker (the shared test broker, a developer's 9092) is ever touched.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from '@calltrack/testing';

const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

export class Broker {
  constructor({ root, port, homeDir, prefix, heapOpts }) {
    this.root = root;
    this.port = port;
    this.homeDir = homeDir;
    this.brokers = `127.0.0.1:${port}`;
    this.env = {
      ...process.env,
      KAFKA_PORT: String(port),
      KAFKA_CONTROLLER_PORT: String(port + 1),
      KAFKA_HOME_DIR: homeDir,
      KAFKA_BROKERS: this.brokers,
      // start.sh provisions the registry's topics: the run's own prefix, nothing else.
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_HEAP_OPTS: heapOpts,
    };
  }

  #script(name, args = []) {
    return new Promise((resolve, reject) => {
      const child = spawn('bash', [join(this.root, 'scripts/kafka', name), ...args], { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`scripts/kafka/${name} exited with ${code}:\n${out.slice(-2000)}`))));
    });
  }

  /** Whether something already answers on the port (then it is not ours: the run refuses to start). */
  async answering() {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [join(this.root, 'scripts/kafka/wait-ready.mjs'), this.brokers, '500'], { stdio: 'ignore' });
      child.on('exit', (code) => resolve(code === 0));
    });
  }

  pid() {
    const file = join(this.homeDir, 'broker.pid');
    return existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) : undefined;
  }

  /**
   * start.sh gives the broker 60 s to answer; on a machine kept busy (the point of the run)
   * a JVM can take longer. If the broker process is still alive, it is given up to
   * `readyTimeoutMs` in all, then start.sh runs again (it reuses a broker that answers, and
   * provisions the topics).
   */
  async start(readyTimeoutMs = 300_000) {
    const deadline = Date.now() + readyTimeoutMs;
    try {
      await this.#script('start.sh');
    } catch (err) {
      const pid = this.pid();
      if (!pid || !alive(pid)) throw err;
      await waitFor(() => this.answering(), {
        what: `the broker on ${this.brokers} to answer`,
        timeoutMs: Math.max(0, deadline - Date.now()),
        intervalMs: 1000,
      });
      await this.#script('start.sh');
    }
  }

  /** Controlled shutdown (SIGTERM through stop.sh). */
  async stop() {
    await this.#script('stop.sh');
  }

  /** kill -9 of the broker's pid: no controlled shutdown, the log is recovered on the next start. */
  async kill() {
    const pid = this.pid();
    if (!pid || !alive(pid)) throw new Error(`no live broker pid in ${this.homeDir}`);
    process.kill(pid, 'SIGKILL');
    await waitFor(() => !alive(pid), { what: `broker ${pid} to die`, timeoutMs: 30_000, intervalMs: 100 });
    rmSync(join(this.homeDir, 'broker.pid'), { force: true });
  }

  /** Stops the broker if it runs and deletes its home directory (data, logs). */
  async destroy({ keep = false } = {}) {
    const pid = this.pid();
    if (pid && alive(pid)) await this.stop().catch(() => (alive(pid) ? process.kill(pid, 'SIGKILL') : undefined));
    if (!keep) rmSync(this.homeDir, { recursive: true, force: true });
  }
}
