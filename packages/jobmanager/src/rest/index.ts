/**
 * The REST API of the Dispatcher: a node:http server (rest-server.ts) over pure routing
 * (routes.ts), request checks (security.ts), body validation (requests.ts) and handlers
 * (handlers.ts); api.ts is the wire format.
 */
export { createRestServer, resolveRestServerOptions, RestPortInUseError, DEFAULT_REST_SERVER_OPTIONS, type RestServer, type RestServerOptions, type RestSecurityOptions } from './rest-server.js';
export { RestRequestError } from './requests.js';
export { parseAllowedHost, type AllowedHost } from './security.js';
export { ROUTE_SUMMARY } from './routes.js';
export type * from './api.js';
