/** The periodic sweep: every instance schedules it, a lease in the database lets one of them run it per interval. */
import type { MetadataStore } from '../metadata/metadata-store.ts';
import { sweepOrphans, type OrphanSweepDeps, type SweepReport } from './orphan-sweep.ts';

export const SWEEP_LEASE = 'orphan-sweep';

export interface ScheduledSweepDeps extends OrphanSweepDeps {
  leases: Pick<MetadataStore, 'takeLease'>;
  /** This instance, as the lease names it. */
  holder: string;
  intervalMs: number;
}

/** Sweeps when this instance holds the interval's lease; undefined when another instance has it. */
export async function sweepIfOurTurn(deps: ScheduledSweepDeps): Promise<SweepReport | undefined> {
  const now = (deps.now ?? Date.now)();
  // A little shorter than the interval, so the holder's own next run finds its lease expired or renews it.
  if (!(await deps.leases.takeLease(SWEEP_LEASE, deps.holder, now, deps.intervalMs * 0.9))) return undefined;
  return sweepOrphans(deps);
}
