/**
 * The executor's view of its Mesos agent: one event stream (SUBSCRIBE) and one-shot calls
 * (UPDATE, MESSAGE). The executor core talks only to this interface; agent-client.ts is its
 * HTTP implementation, and tests may hand the core any other.
 */
import { SluiceError } from '@sluice/common';
import type { ExecutorCall, ExecutorEvent } from '@sluice/mesos-proto';

export interface AgentStreamHandlers {
  onEvent(event: ExecutorEvent): void;
  /** Called once: the stream could not be opened, was refused, broke or ended. */
  onClose(error: AgentError): void;
}

export interface AgentSubscription {
  /** Drops the stream; onClose is not called after this. */
  close(): void;
}

export interface AgentGateway {
  /** Opens the SUBSCRIBE stream; events arrive through `handlers` until it closes. */
  subscribe(call: ExecutorCall, handlers: AgentStreamHandlers): AgentSubscription;
  /** Sends UPDATE, MESSAGE or HEARTBEAT; resolves on 202, rejects with an AgentError otherwise. */
  call(call: ExecutorCall): Promise<void>;
  /** Releases connections kept for calls. */
  close(): void;
}

/**
 * What went wrong talking to the agent. `MESOS_AGENT_REFUSED`: a 4xx answer (the request is
 * wrong or the executor unknown; the same request fails again). `MESOS_AGENT_UNAVAILABLE`: no
 * connection, a timeout or a 5xx (retriable). `MESOS_AGENT_STREAM`: the event stream ended or
 * carried bytes that are not events (retriable: re-subscribe).
 */
export class AgentError extends SluiceError {
  /** The HTTP status, when the agent answered. */
  readonly status: number | undefined;
  /** The agent's response body (trimmed), which says why it refused. */
  readonly body: string | undefined;

  constructor(
    code: 'MESOS_AGENT_REFUSED' | 'MESOS_AGENT_UNAVAILABLE' | 'MESOS_AGENT_STREAM',
    message: string,
    options: { status?: number; body?: string; cause?: unknown } = {},
  ) {
    super(code, message, { retriable: code !== 'MESOS_AGENT_REFUSED', ...(options.cause === undefined ? {} : { cause: options.cause }) });
    this.name = 'AgentError';
    this.status = options.status;
    this.body = options.body;
  }
}
