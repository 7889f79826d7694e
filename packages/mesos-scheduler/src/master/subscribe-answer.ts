/**
 * What a non-200 answer to SUBSCRIBE means and what to do about it. Every outcome ends in another
 * attempt (after a redirect at once, otherwise after a backoff): a refused subscription is a
 * misconfiguration an operator fixes while the scheduler keeps trying, never a crash.
 */
import { MESOS_MEDIA_TYPES, type MesosEncoding } from '@sluice/mesos-proto';
import { masterAddress, redirectTarget, schedulerApiPath, type MasterEndpoint } from './location.js';

export type SubscribeOutcome =
  /** 200: the event stream is open. */
  | { kind: 'stream' }
  /** 307: that master is not the leader; this one is. */
  | { kind: 'redirect'; to: MasterEndpoint }
  /** Worth trying the next master in the list (no leader there, unreachable, no answer). */
  | { kind: 'next'; problem: string }
  /** Every master would answer the same (credentials, ACLs, a bad request): back off and retry. */
  | { kind: 'refused'; problem: string };

const MAX_BODY_SHOWN = 300;

export interface SubscribeContext {
  readonly encoding: MesosEncoding;
  /** The principal whose credentials were sent, if any. */
  readonly principal: string | undefined;
}

export function classifySubscribeAnswer(master: MasterEndpoint, status: number, body: string, location: string | undefined, ctx: SubscribeContext): SubscribeOutcome {
  const at = `master ${masterAddress(master)}`;
  const text = body.trim();
  const said = text === '' ? '' : `: "${text.length > MAX_BODY_SHOWN ? `${text.slice(0, MAX_BODY_SHOWN)}…` : text}"`;
  const mediaType = MESOS_MEDIA_TYPES[ctx.encoding];
  const refused = (problem: string): SubscribeOutcome => ({ kind: 'refused', problem });
  switch (status) {
    case 307: {
      const to = redirectTarget(location, master);
      if (to !== undefined) return { kind: 'redirect', to };
      return { kind: 'next', problem: `${at} answered 307 (not the leader) without a usable Location header (${JSON.stringify(location ?? null)})` };
    }
    case 503:
      return { kind: 'next', problem: `${at} has no elected leader or is still recovering (503)${said}` };
    case 401:
      return refused(
        ctx.principal === undefined
          ? `${at} requires authentication (401) and no credentials were given: give --mesos-principal and --mesos-secret-file`
          : `${at} rejected the credentials of principal '${ctx.principal}' (401)${said}: check --mesos-principal and the secret in --mesos-secret-file`,
      );
    case 403:
      return refused(
        `${at} refused to subscribe the framework (403)${said}: the principal${ctx.principal === undefined ? '' : ` '${ctx.principal}'`} is not authorized for this framework or its roles; check the master's ACLs (register_frameworks) or the principal`,
      );
    case 400:
      return refused(`${at} rejected SUBSCRIBE as invalid (400)${said}: check the framework info (user, name, roles, capabilities, framework id)`);
    case 415:
      return refused(`${at} does not accept Content-Type ${mediaType} (415)${said}: is a proxy rewriting headers, or is this not a Mesos master?`);
    case 406:
      return refused(`${at} cannot answer in ${mediaType} (406)${said}: try the other encoding`);
    case 404:
    case 405:
      return refused(`${at} has no scheduler API at POST ${schedulerApiPath(master)} (${status})${said}: is it a Mesos master (1.0 or later), and is the URL prefix right?`);
    default:
      return status >= 500
        ? { kind: 'next', problem: `${at} failed SUBSCRIBE with HTTP ${status}${said}` }
        : refused(`${at} answered SUBSCRIBE with HTTP ${status}${said}`);
  }
}
