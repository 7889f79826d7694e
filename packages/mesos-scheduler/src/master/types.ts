/**
 * The master connection's contract (implemented in master/): one subscription to the leading
 * Mesos master, kept alive across disconnects, heartbeats and leader changes. The driver decides
 * what a subscription means (framework id, reconciliation); the connection only carries calls
 * and events and says when it is (re)subscribed.
 */
import type { FrameworkInfo, SchedulerCall, SchedulerEvent } from '@sluice/mesos-proto';

export interface MasterConnectionEvents {
  /**
   * The SUBSCRIBED event arrived on a new stream. `frameworkId` is the master's; the driver must
   * persist it before relying on it. Calls may be sent from now on.
   */
  onSubscribed(info: { frameworkId: string; heartbeatIntervalSeconds: number; masterHost: string; streamId: string }): void | Promise<void>;
  /** Every event on the stream except SUBSCRIBED and HEARTBEAT, in order. */
  onEvent(event: SchedulerEvent): void;
  /** The stream is gone (error, missed heartbeats, ERROR event, redirect); the connection resubscribes by itself unless closed. */
  onDisconnected(reason: string): void;
}

export interface MasterConnection {
  /**
   * Starts subscribing. `frameworkInfo()` is asked before every SUBSCRIBE, so a resubscription
   * carries the id the driver stored (or none, for a new framework).
   */
  start(frameworkInfo: () => FrameworkInfo, events: MasterConnectionEvents): void;
  /** 'subscribed' once SUBSCRIBED arrived on the current stream. */
  readonly state: 'idle' | 'subscribing' | 'subscribed' | 'closed';
  /**
   * Sends a call on the current subscription (framework id and Mesos-Stream-Id added). Rejects
   * with MesosCallError (HTTP status and the master's body) on a non-2xx answer, or when not
   * subscribed. A TEARDOWN the master accepts closes the connection (the framework is gone).
   */
  call(call: SchedulerCall): Promise<void>;
  /** Ends the stream and stops resubscribing (does not TEARDOWN the framework). */
  close(): Promise<void>;
}
