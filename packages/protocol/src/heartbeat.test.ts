import { ManualClock } from '@sluice/common';
import { describe, expect, it } from 'vitest';
import { HeartbeatManager, resolveHeartbeatOptions } from './index.js';

function setup() {
  const clock = new ManualClock(0);
  const lost: string[] = [];
  const sent: string[] = [];
  const hb = new HeartbeatManager({
    heartbeatIntervalMs: 10,
    heartbeatTimeoutMs: 50,
    clock,
    manualTicks: true,
    run: (action) => action(),
    onPeerLost: (id, _t, reason) => lost.push(`${id}: ${reason}`),
  });
  const target = (id: string, address = id) => ({ address, sendHeartbeat: () => sent.push(id) });
  /** Advances the clock one interval and ticks. */
  const step = (n = 1) => {
    for (let i = 0; i < n; i++) {
      clock.advance(10);
      hb.tick();
    }
  };
  return { clock, hb, lost, sent, target, step };
}

describe('HeartbeatManager', () => {
  it('beats every interval and declares a peer lost once silent past the timeout, and only then', () => {
    const { hb, lost, sent, target, step } = setup();
    hb.monitor('a', target('a'));
    hb.monitor('b', target('b'));
    expect(sent).toEqual(['a', 'b']);
    step(5);
    expect(lost).toEqual([]);
    hb.receiveHeartbeat('b');
    step(1);
    expect(lost).toEqual(['a: no heartbeat for 60 ms (timeout 50 ms)']);
    expect(hb.isMonitored('a')).toBe(false);
    expect(hb.receiveHeartbeat('a')).toBe(false);
    // b was heard at 50: lost once more than 50 ms later.
    step(5);
    expect(lost).toHaveLength(2);
    expect(lost[1]).toMatch(/^b: no heartbeat for 60 ms/);
    expect(sent.filter((s) => s === 'b').length).toBe(1 + 10);
  });

  it('declares every peer at a closed connection lost at once', () => {
    const { hb, lost, target, step } = setup();
    hb.monitor('tm-1', target('tm-1', 'host-1'));
    hb.monitor('tm-2', target('tm-2', 'host-2'));
    hb.monitor('jm', target('jm', 'host-1'));
    hb.peerConnectionClosed('host-1');
    expect(lost).toEqual(['tm-1: its connection (host-1) closed', 'jm: its connection (host-1) closed']);
    step(3);
    expect(hb.monitoredPeers()).toEqual(['tm-2']);
  });

  it('keeps a peer another channel vouches for when its connection closes, until the heartbeat timeout', () => {
    const { hb, lost, target, step } = setup();
    hb.monitor('tm-1', target('tm-1', 'host-1'));
    hb.monitor('tm-2', target('tm-2', 'host-1'));
    hb.peerConnectionClosed('host-1', (peerId) => peerId === 'tm-1');
    expect(lost).toEqual(['tm-2: its connection (host-1) closed']);
    expect(hb.monitoredPeers()).toEqual(['tm-1']);
    step(6);
    expect(lost).toEqual(['tm-2: its connection (host-1) closed', 'tm-1: no heartbeat for 60 ms (timeout 50 ms)']);
  });

  it('declares the endpoints behind a closed process connection lost, and no others', () => {
    const { hb, lost, target } = setup();
    hb.monitor('tm-1', target('tm-1', 'sluice://10.0.0.1:6122/taskmanager/tm-1'));
    hb.monitor('jm', target('jm', 'sluice://10.0.0.1:6122/jobmaster/j1'));
    hb.monitor('tm-2', target('tm-2', 'sluice://10.0.0.1:61220/taskmanager/tm-2'));
    hb.peerConnectionClosed('sluice://10.0.0.1:6122');
    expect(lost).toEqual(['tm-1: its connection (sluice://10.0.0.1:6122) closed', 'jm: its connection (sluice://10.0.0.1:6122) closed']);
    expect(hb.monitoredPeers()).toEqual(['tm-2']);
  });

  it('does not hold its own stall against its peers', () => {
    const { clock, hb, lost, target, step } = setup();
    hb.monitor('a', target('a'));
    step(3);
    hb.receiveHeartbeat('a');
    // This thread was held up for 200 ms: it could not take in heartbeats meanwhile.
    clock.advance(200);
    hb.tick();
    expect(lost).toEqual([]);
    step(6);
    expect(lost).toHaveLength(1);
  });

  it('stops beating and checking when stopped or unmonitored', () => {
    const { hb, lost, sent, target, step } = setup();
    hb.monitor('a', target('a'));
    hb.monitor('b', target('b'));
    hb.unmonitor('a');
    hb.stop();
    step(10);
    expect(lost).toEqual([]);
    expect(sent).toEqual(['a', 'b']);
  });

  it('validates its timing with errors that say what to change', () => {
    expect(resolveHeartbeatOptions({}, 'x')).toEqual({ heartbeatIntervalMs: 10_000, heartbeatTimeoutMs: 50_000 });
    expect(() => resolveHeartbeatOptions({ heartbeatIntervalMs: 0 }, 'ResourceManager')).toThrow(/ResourceManager: heartbeatIntervalMs must be a positive number of milliseconds, got 0/);
    expect(() => resolveHeartbeatOptions({ heartbeatTimeoutMs: Number.NaN }, 'x')).toThrow(/heartbeatTimeoutMs must be a positive/);
    expect(() => resolveHeartbeatOptions({ heartbeatIntervalMs: 100, heartbeatTimeoutMs: 100 }, 'x')).toThrow(/must be larger than heartbeatIntervalMs \(100\)/);
  });
});
