import { Injectable } from '@nestjs/common';

export type ReadinessCheck = () => boolean | Promise<boolean>;

export interface HealthStatus {
  ready: boolean;
  checks: Record<string, boolean>;
}

/**
 * Collects what a service needs before it takes traffic (Kafka joined, state rebuilt, store
 * migrated...): readiness, /readyz. And what must hold for the process to be worth keeping
 * (no consumer dead for good): liveness, /healthz; a failed liveness check asks the
 * orchestrator to restart the process, so only register what a restart can fix.
 */
@Injectable()
export class ReadinessService {
  private readonly checks = new Map<string, ReadinessCheck>();
  private readonly liveChecks = new Map<string, ReadinessCheck>();
  private shuttingDown = false;

  register(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check);
  }

  registerLiveness(name: string, check: ReadinessCheck): void {
    this.liveChecks.set(name, check);
  }

  markShuttingDown(): void {
    this.shuttingDown = true;
  }

  async status(): Promise<HealthStatus> {
    const checks = await evaluate(this.checks);
    checks['not_shutting_down'] = !this.shuttingDown;
    return { ready: Object.values(checks).every(Boolean), checks };
  }

  /** Liveness: every liveness check passes (a service still starting or shutting down is live). */
  async liveness(): Promise<{ live: boolean; checks: Record<string, boolean> }> {
    const checks = await evaluate(this.liveChecks);
    return { live: Object.values(checks).every(Boolean), checks };
  }
}

async function evaluate(from: Map<string, ReadinessCheck>): Promise<Record<string, boolean>> {
  const checks: Record<string, boolean> = {};
  for (const [name, check] of from) {
    try {
      checks[name] = await check();
    } catch {
      checks[name] = false;
    }
  }
  return checks;
}
