/**
 * Whether the framework wants offers, said to the master: REVIVE when a worker becomes wanted,
 * SUPPRESS when none is. The calls go one after the other (a SUPPRESS overtaking a later REVIVE
 * would leave the framework without offers), and one the master refused is sent again after a
 * pause unless the wish changed or the subscription did meanwhile: nothing else would repair a
 * framework left suppressed while TaskManagers wait for offers.
 */
import { describeError, type Logger } from '@sluice/common';
import type { SchedulerCall } from '@sluice/mesos-proto';
import type { MasterConnection } from '../master/types.js';
import type { DriverTimers } from './timers.js';

export interface OfferInterestOptions {
  connection: MasterConnection;
  timers: DriverTimers;
  logger: Logger;
  /** Runs on the driver's mailbox. */
  run(action: () => void): void;
  /** The pause before a refused call is sent again. */
  retryMs: number;
  /** Called when the wish turns to "none": decline what is held. */
  onSuppress(): void;
}

export class OfferInterest {
  /** What the last REVIVE (true) or SUPPRESS (false) of this subscription said. */
  private said: boolean | undefined;
  /** The REVIVE or SUPPRESS in flight, if any. */
  private inFlight: Promise<void> | undefined;
  /** Counts subscriptions, so a retry meant for an earlier one does nothing. */
  private subscription = 0;

  constructor(private readonly o: OfferInterestOptions) {}

  /** A new subscription, or none: the next `update` says the wish anew. */
  reset(): void {
    this.subscription++;
    this.said = undefined;
  }

  /** Tells the master `want`, unless it was the last thing said in this subscription. */
  update(want: boolean): void {
    if (want === this.said) return;
    this.said = want;
    if (!want) this.o.onSuppress();
    const call: SchedulerCall = want ? { type: 'REVIVE', revive: {} } : { type: 'SUPPRESS', suppress: {} };
    const subscription = this.subscription;
    const issue = (): Promise<void> =>
      this.o.connection.call(call).catch((err: unknown) => {
        this.o.logger.warn(`${call.type} failed: ${describeError(err)}; sending it again in ${this.o.retryMs} ms`);
        this.o.run(() => this.refused(subscription, want));
      });
    const mine = this.inFlight === undefined ? issue() : this.inFlight.then(issue);
    this.inFlight = mine;
    void mine.then(() => {
      if (this.inFlight === mine) this.inFlight = undefined;
    });
  }

  private refused(subscription: number, want: boolean): void {
    const current = (): boolean => subscription === this.subscription && this.said === want;
    if (!current()) return;
    this.o.timers.after(this.o.retryMs, () =>
      this.o.run(() => {
        if (!current()) return; // resubscribed (which says it anew), or the opposite call went out meanwhile
        this.said = undefined;
        this.update(want);
      }),
    );
  }
}
