/**
 * In-order delivery of fire-and-forget calls to remote gateways, one queue per address. The
 * TaskManager must never await another component inside its mailbox (two components awaiting
 * each other there would deadlock), yet a JobMaster must see RUNNING before FINISHED and a task's
 * collected records before its terminal state. So calls are queued here from the mailbox, in
 * mailbox order, and sent one after another; failures are logged, never thrown back.
 */
import { describeError, type Logger } from '@sluice/common';
import { Mailbox, type RpcService } from '@sluice/protocol';

export class OrderedSender {
  private readonly queues = new Map<string, Mailbox>();
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    private readonly rpc: RpcService,
    private readonly logger: Logger,
  ) {}

  /** Queues `call` against the gateway at `address`; returns at once. */
  send<G extends object>(address: string, what: string, call: (gateway: G) => Promise<unknown>): void {
    let queue = this.queues.get(address);
    if (queue === undefined) {
      queue = new Mailbox();
      this.queues.set(address, queue);
    }
    const p = queue
      .run(async () => call(await this.rpc.connect<G>(address)))
      .catch((err: unknown) => this.logger.warn(`could not deliver ${what} to '${address}'`, { error: describeError(err) }));
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  /** Resolves once everything queued so far has been delivered or given up on. */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }
}
