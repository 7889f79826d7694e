/**
 * A peer process for the cross-process test (rpc.process.test.ts): serves a small gateway on a
 * NetworkRpcService, tells its parent the address over IPC, and stops on 'stop'.
 */
import { silentLogger } from '@sluice/common';
import { NetworkRpcService } from './index.js';

interface ParentGateway {
  note(text: string): Promise<string>;
}

const service = new NetworkRpcService({ secret: process.env.SLUICE_RPC_TEST_SECRET ?? '', logger: silentLogger });
await service.start();
service.register('peer', {
  echo: async (value: unknown) => value,
  pid: async () => process.pid,
  /** Calls the parent back, over the connection the parent opened. */
  callBack: async (address: string, text: string) => (await service.connect<ParentGateway>(address)).note(`${text} from ${process.pid}`),
  hang: () => {
    process.send?.('hanging');
    return new Promise<never>(() => undefined);
  },
});
process.on('message', (m) => {
  if (m === 'stop') void service.stop().then(() => process.disconnect());
});
process.send?.({ address: service.addressOf('peer') });
