import { describe, expect, it } from 'vitest';
import { TaskControl } from '../io/task-control.js';
import { LocalShuffleService, type ChannelRequest } from './local-shuffle-service.js';

const req = (over: Partial<ChannelRequest> = {}): ChannelRequest => ({
  jobId: 'job',
  attempt: 0,
  edgeId: 'e',
  producerVertexId: 'v1',
  producerSubtask: 0,
  consumerVertexId: 'v2',
  consumerSubtask: 1,
  bufferSizeBytes: 1024,
  buffers: 4,
  ...over,
});

describe('LocalShuffleService', () => {
  it('returns the same memory for the same key, whoever asks first', () => {
    const s = new LocalShuffleService();
    const a = s.channel(req());
    const b = s.channel(req());
    expect(b).toBe(a);
    expect(a.producerControl).toBe(s.taskControl('job', 0, 'v1', 0));
    expect(a.consumerControl).toBe(s.taskControl('job', 0, 'v2', 1));
    expect(a.buffers).toBe(4);
    expect(a.bufferSizeBytes).toBe(1024);
  });

  it('keeps attempts, edges and subtask pairs apart', () => {
    const s = new LocalShuffleService();
    const base = s.channel(req());
    expect(s.channel(req({ attempt: 1 })).ring).not.toBe(base.ring);
    expect(s.channel(req({ edgeId: 'f' })).ring).not.toBe(base.ring);
    expect(s.channel(req({ consumerSubtask: 0 })).ring).not.toBe(base.ring);
    expect(s.taskControl('job', 1, 'v1', 0)).not.toBe(s.taskControl('job', 0, 'v1', 0));
  });

  it('refuses a second request with different sizes', () => {
    const s = new LocalShuffleService();
    s.channel(req());
    expect(() => s.channel(req({ buffers: 8 }))).toThrow(/requested with 8 × 1024 bytes but exists with 4 × 1024/);
  });

  it('cancel sets the flag and rings the doorbell of that subtask only', () => {
    const s = new LocalShuffleService();
    const c0 = new TaskControl(s.taskControl('job', 0, 'v1', 0));
    const c1 = new TaskControl(s.taskControl('job', 0, 'v1', 1));
    expect(s.cancel('job', 0, 'v1', 0)).toBe(true);
    expect(c0.cancelled()).toBe(true);
    expect(c0.doorbell()).toBe(1);
    expect(c1.cancelled()).toBe(false);
    expect(s.isCancelled('job', 0, 'v1', 0)).toBe(true);
    expect(s.cancel('job', 0, 'nope', 0)).toBe(false);
    s.cancelJob('job', 0);
    expect(c1.cancelled()).toBe(true);
  });

  it('releaseJob forgets one attempt', () => {
    const s = new LocalShuffleService();
    const old = s.channel(req());
    s.channel(req({ attempt: 1 }));
    s.releaseJob('job', 0);
    expect(s.jobCount).toBe(1);
    expect(s.channel(req()).ring).not.toBe(old.ring);
  });
});
