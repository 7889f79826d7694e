import { describe, expect, it } from 'vitest';
import { WatermarkValve } from './watermark-valve.js';

type Event = ['wm', number, number] | ['idle', number] | ['active', number] | ['end', number];
type Out = ['wm', number] | ['status', 'idle' | 'active'] | ['ended'];

function run(channels: number, events: Event[]): Out[] {
  const outs: Out[] = [];
  const valve = new WatermarkValve(channels, {
    onWatermark: (wm) => outs.push(['wm', wm]),
    onStatus: (idle) => outs.push(['status', idle ? 'idle' : 'active']),
  });
  for (const e of events) {
    switch (e[0]) {
      case 'wm':
        valve.inputWatermark(e[1], e[2]);
        break;
      case 'idle':
        valve.inputStatus(e[1], true);
        break;
      case 'active':
        valve.inputStatus(e[1], false);
        break;
      case 'end':
        if (valve.endOfPartition(e[1])) outs.push(['ended']);
        break;
    }
  }
  return outs;
}

describe('WatermarkValve', () => {
  const table: [string, number, Event[], Out[]][] = [
    ['single channel forwards increases only', 1, [['wm', 0, 5], ['wm', 0, 5], ['wm', 0, 3], ['wm', 0, 7]], [['wm', 5], ['wm', 7]]],
    ['min over channels; nothing until all have one', 2, [['wm', 0, 5], ['wm', 1, 3], ['wm', 1, 8], ['wm', 0, 10]], [['wm', 3], ['wm', 5], ['wm', 8]]],
    ['an idle channel drops out of the minimum', 2, [['wm', 0, 5], ['wm', 1, 2], ['idle', 1], ['wm', 0, 9]], [['wm', 2], ['wm', 5], ['wm', 9]]],
    [
      'all idle: advance to the max, then idle; active again: active',
      2,
      [['wm', 0, 5], ['wm', 1, 2], ['idle', 1], ['idle', 0], ['active', 0]],
      [['wm', 2], ['wm', 5], ['status', 'idle'], ['status', 'active']],
    ],
    [
      'a resumed channel behind the output stays out until it catches up',
      2,
      [['wm', 0, 1], ['wm', 1, 1], ['idle', 1], ['wm', 0, 10], ['active', 1], ['wm', 1, 4], ['wm', 0, 12], ['wm', 1, 11], ['wm', 0, 20]],
      [['wm', 1], ['wm', 10], ['wm', 12], ['wm', 20]],
    ],
    ['watermarks from idle channels are ignored', 2, [['idle', 0], ['wm', 0, 100], ['wm', 1, 3]], [['wm', 3]]],
    [
      'ending the slowest channel advances to the next minimum',
      3,
      [['wm', 0, 1], ['wm', 1, 5], ['wm', 2, 7], ['end', 0], ['end', 1], ['end', 2]],
      [['wm', 1], ['wm', 5], ['wm', 7], ['ended']],
    ],
    ['ended channels ignore later events', 2, [['end', 0], ['wm', 0, 50], ['idle', 0], ['wm', 1, 4]], [['wm', 4]]],
    [
      'the last active channel ending turns the input idle',
      2,
      [['idle', 1], ['wm', 0, 3], ['end', 0], ['active', 1]],
      [['wm', 3], ['status', 'idle'], ['status', 'active']],
    ],
    ['duplicate status events are no-ops', 1, [['idle', 0], ['idle', 0], ['active', 0], ['active', 0]], [['status', 'idle'], ['status', 'active']]],
    ['+Infinity passes through', 2, [['wm', 0, Infinity], ['wm', 1, Infinity]], [['wm', Infinity]]],
  ];
  it.each(table)('%s', (_name, channels, events, expected) => {
    expect(run(channels, events)).toEqual(expected);
  });

  it('an input without channels has ended from the start', () => {
    const valve = new WatermarkValve(0, { onWatermark: () => {}, onStatus: () => {} });
    expect(valve.ended).toBe(true);
  });
});
