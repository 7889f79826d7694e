/**
 * @sluice/rpc — the network RpcService: the gateway interfaces of @sluice/protocol served between
 * processes and hosts over one authenticated (optionally TLS) TCP connection per peer pair,
 * with multiplexed calls, frame limits and a versioned handshake. Components do not change:
 * they register and connect by address as with LocalRpcService.
 */
export { NetworkRpcService, type ConnectOptions, type PeerLost, type RpcConnectionInfo } from './service.js';
export { DEFAULT_NETWORK_RPC_OPTIONS, resolveNetworkRpcOptions, type NetworkRpcOptions, type RpcTlsOptions } from './options.js';
export { RPC_ERROR_CODES, type RpcErrorCode } from './errors.js';
export { ADDRESS_SCHEME, formatAddress, isNetworkAddress, parseAddress, parsePeer, type NetworkAddress } from './address.js';
export { PROTOCOL_VERSION } from './handshake.js';
export { createAuthenticatedDataTransport, DataHandshakeError, DATA_HANDSHAKE_VERSION, type AuthenticatedDataTransport, type AuthenticatedDataTransportOptions } from './data-transport.js';
