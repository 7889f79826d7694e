/**
 * The shuffle service of a TaskManager process in a cluster: channels whose two subtasks run in
 * this TaskManager are shared-memory rings between them (LocalShuffleService); channels to or
 * from a subtask in another TaskManager are rings that this TaskManager's main thread drains or
 * fills over TCP (DataExchange). Which one a channel gets is `channelKind(producer, consumer)`.
 *
 *   const shuffle = await NetworkShuffleService.start({ resourceId });
 *   shuffle.location            // { resourceId, dataAddress }: what deployment descriptors carry
 *   new PiscinaTaskRunner({ shuffle, ... })
 */
import { SluiceError, type Logger } from '@sluice/common';
import type { ChannelEndpoint } from './channel-endpoint.js';
import { LocalShuffleService } from './local-shuffle-service.js';
import { channelKind, type InputChannelRequest, type OutputChannelRequest, type ShuffleService, type TaskManagerLocation } from './shuffle-service.js';
import type { RemoteChannelInfo } from './tcp/channels.js';
import { DataExchange } from './tcp/exchange.js';
import { createPlainDataTransport, type DataTransport } from './tcp/transport.js';

export interface NetworkShuffleServiceOptions {
  /** This TaskManager's resource id (what peers call it). */
  resourceId: string;
  /** How connections are made and accepted; default: plain TCP on 127.0.0.1, a free port. */
  transport?: DataTransport;
  /** Largest data frame accepted (default 16 MiB + 64 bytes); must exceed bufferSizeBytes. */
  maxFrameBytes?: number;
  logger?: Logger;
}

export class NetworkShuffleService implements ShuffleService {
  readonly local = new LocalShuffleService();
  private readonly exchange: DataExchange;
  private self: TaskManagerLocation;

  private constructor(options: NetworkShuffleServiceOptions) {
    if (options.resourceId === '') throw new SluiceError('CONFIGURATION', 'a TaskManager needs a non-empty resource id for its data exchange');
    this.exchange = new DataExchange({
      resourceId: options.resourceId,
      local: this.local,
      transport: options.transport ?? createPlainDataTransport(),
      ...(options.maxFrameBytes === undefined ? {} : { maxFrameBytes: options.maxFrameBytes }),
      ...(options.logger === undefined ? {} : { logger: options.logger }),
    });
    this.self = { resourceId: options.resourceId };
  }

  /** Starts listening for other TaskManagers' connections. */
  static async start(options: NetworkShuffleServiceOptions): Promise<NetworkShuffleService> {
    const s = new NetworkShuffleService(options);
    s.self = { resourceId: options.resourceId, dataAddress: await s.exchange.start() };
    return s;
  }

  /** Where this TaskManager's data exchange is: put it in the descriptors of its peers' subtasks. */
  get location(): TaskManagerLocation {
    return this.self;
  }

  taskControl(jobId: string, attempt: number, vertexId: string, subtaskIndex: number): SharedArrayBuffer {
    return this.local.taskControl(jobId, attempt, vertexId, subtaskIndex);
  }

  outputChannel(req: OutputChannelRequest): ChannelEndpoint {
    const consumer = req.consumerLocation;
    if (consumer === undefined || channelKind(this.self, consumer) === 'local') return this.local.outputChannel(req);
    return this.exchange.outputChannel(req);
  }

  inputChannel(req: InputChannelRequest): ChannelEndpoint {
    const producer = req.producerLocation;
    if (producer === undefined || channelKind(producer, this.self) === 'local') return this.local.inputChannel(req);
    return this.exchange.inputChannel(req, producer);
  }

  /** Cancels a subtask here and releases its remote channels, so its peers fail rather than wait. */
  cancel(jobId: string, attempt: number, vertexId: string, subtaskIndex: number): boolean {
    this.exchange.releaseTask(jobId, attempt, vertexId, subtaskIndex, `subtask ${subtaskIndex} of ${vertexId} was cancelled on TaskManager ${this.self.resourceId}`);
    return this.local.cancel(jobId, attempt, vertexId, subtaskIndex);
  }

  /** Cancels the attempt's subtasks here and tells the peers holding its channels to drop them. */
  cancelJob(jobId: string, attempt: number): void {
    this.local.cancelJob(jobId, attempt);
    this.exchange.releaseAttempt(jobId, attempt);
  }

  isCancelled(jobId: string, attempt: number, vertexId: string, subtaskIndex: number): boolean {
    return this.local.isCancelled(jobId, attempt, vertexId, subtaskIndex);
  }

  releaseJob(jobId: string, attempt?: number): void {
    if (attempt === undefined) this.exchange.releaseJob(jobId);
    else this.exchange.releaseAttempt(jobId, attempt);
    this.local.releaseJob(jobId, attempt);
  }

  releaseAttemptsBefore(jobId: string, attempt: number): void {
    if (attempt > 0) this.exchange.releaseAttempt(jobId, attempt - 1, true);
    this.local.releaseAttemptsBefore(jobId, attempt);
  }

  /** The channels to and from other TaskManagers, with their credits and backlog. */
  remoteChannels(): RemoteChannelInfo[] {
    return this.exchange.channels();
  }

  /** TaskManagers this one has a data connection with (or is connecting to). */
  get peers(): string[] {
    return this.exchange.peers;
  }

  /** Closes every data connection (open channels break) and stops listening. */
  close(): Promise<void> {
    return this.exchange.close();
  }
}
