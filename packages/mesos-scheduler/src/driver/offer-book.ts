/**
 * The offers the driver holds: each from its arrival until it is used, declined, rescinded, its
 * subscription ends, or the hold timeout passes (then `onExpired` declines it, so resources
 * nothing here can use go back to Mesos for other frameworks).
 */
import type { Offer } from '@sluice/mesos-proto';
import type { DriverTimers, TimerHandle } from './timers.js';

export class OfferBook {
  private readonly held = new Map<string, { offer: Offer; timer: TimerHandle }>();

  constructor(
    private readonly timers: DriverTimers,
    private readonly holdMs: number,
    /** Posts the expiry onto the driver's mailbox. */
    private readonly run: (action: () => void) => void,
    private readonly onExpired: (offerId: string) => void,
  ) {}

  get size(): number {
    return this.held.size;
  }

  add(offer: Offer): void {
    const id = offer.id.value;
    this.take(id);
    const timer = this.timers.after(this.holdMs, () =>
      this.run(() => {
        if (this.held.get(id)?.timer === timer) this.onExpired(id);
      }),
    );
    this.held.set(id, { offer, timer });
  }

  has(offerId: string): boolean {
    return this.held.has(offerId);
  }

  offers(): Offer[] {
    return [...this.held.values()].map((h) => h.offer);
  }

  ids(): string[] {
    return [...this.held.keys()];
  }

  /** Removes the offer (used, declined, rescinded); undefined when not held. */
  take(offerId: string): Offer | undefined {
    const h = this.held.get(offerId);
    if (h === undefined) return undefined;
    h.timer.cancel();
    this.held.delete(offerId);
    return h.offer;
  }

  /** Forgets every offer (the subscription that made them is gone); returns their ids. */
  clear(): string[] {
    const ids = this.ids();
    for (const id of ids) this.take(id);
    return ids;
  }
}
