/**
 * FraudDetector: the classic pattern "a tiny transaction (< 1.00) immediately followed by a
 * large one (> 500.00) on the same account within one minute of event time". Per account it
 * keeps the last tiny transaction in ValueState and an event-time timer one minute later that
 * clears it, so state for quiet accounts expires on its own. Any later transaction on the
 * account consumes the flag (alert or not), as in Flink's walkthrough.
 */
import {
  ValueStateDescriptor,
  type Collector,
  type KeyedProcessContext,
  type KeyedProcessFunction,
  type OnTimerContext,
  type RuntimeContext,
  type ValueState,
} from '@sluice/api';
import type { Transaction } from './transactions.js';

export const SMALL_AMOUNT = 1.0;
export const LARGE_AMOUNT = 500.0;
export const ONE_MINUTE_MS = 60_000;

export interface Alert {
  accountId: number;
  small: { amount: number; timestamp: number };
  large: { amount: number; timestamp: number };
}

interface Flag {
  amount: number;
  timestamp: number;
}

export class FraudDetector implements KeyedProcessFunction<number, Transaction, Alert> {
  private flag!: ValueState<Flag>;
  private timer!: ValueState<number>;

  open(ctx: RuntimeContext): void {
    this.flag = ctx.getState(new ValueStateDescriptor<Flag>('small-transaction'));
    this.timer = ctx.getState(new ValueStateDescriptor<number>('flag-expiry-timer'));
  }

  processElement(tx: Transaction, ctx: KeyedProcessContext<number>, out: Collector<Alert>): void {
    const flag = this.flag.value();
    if (flag !== undefined) {
      // The timestamp check makes the result independent of when watermarks (and so the
      // expiry timer) happen to arrive.
      if (tx.amount > LARGE_AMOUNT && tx.timestamp - flag.timestamp <= ONE_MINUTE_MS) {
        out.collect({ accountId: tx.accountId, small: { amount: flag.amount, timestamp: flag.timestamp }, large: { amount: tx.amount, timestamp: tx.timestamp } });
      }
      this.cleanUp(ctx);
    }
    if (tx.amount < SMALL_AMOUNT) {
      const expiry = tx.timestamp + ONE_MINUTE_MS;
      this.flag.update({ amount: tx.amount, timestamp: tx.timestamp });
      this.timer.update(expiry);
      ctx.timerService().registerEventTimeTimer(expiry);
    }
  }

  onTimer(_timestamp: number, _ctx: OnTimerContext<number>, _out: Collector<Alert>): void {
    this.flag.clear();
    this.timer.clear();
  }

  private cleanUp(ctx: KeyedProcessContext<number>): void {
    const expiry = this.timer.value();
    if (expiry !== undefined) ctx.timerService().deleteEventTimeTimer(expiry);
    this.flag.clear();
    this.timer.clear();
  }
}

export function formatAlert(a: Alert): string {
  const t = (ms: number): string => new Date(ms).toISOString().slice(11, 23);
  return `ALERT account=${a.accountId} small=${a.small.amount.toFixed(2)}@${t(a.small.timestamp)} large=${a.large.amount.toFixed(2)}@${t(a.large.timestamp)} after_s=${((a.large.timestamp - a.small.timestamp) / 1000).toFixed(1)}`;
}
