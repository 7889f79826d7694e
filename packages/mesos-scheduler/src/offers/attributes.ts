/**
 * What placement constraints compare: an offer's (or a placed worker's) value of a constraint
 * field, as a string. Marathon's rules, so constraints written for Marathon behave the same here:
 * `hostname` and `@hostname` read the agent's hostname, `@region`/`@zone` its fault domain, any
 * other field the agent attribute of that name, stringified by type. A missing value is
 * `undefined` (only UNLIKE accepts it).
 */
import type { Attribute, Offer } from '@sluice/mesos-proto';
import type { PlacedWorker } from './types.js';

/**
 * Marathon formats SCALAR attributes with Java's default NumberFormat (en-US on its servers): at
 * most three fraction digits, half-even rounding, thousands grouped ("1,024"). `IS 1024` on such
 * an attribute therefore fails under Marathon too; keeping the same rendering means constraints
 * carried over from Marathon mean what they meant there.
 */
const SCALAR_FORMAT = new Intl.NumberFormat('en-US', { maximumFractionDigits: 3, roundingMode: 'halfEven' });

/** Marathon's string form of an attribute: TEXT raw, SCALAR formatted, RANGES `[b-e,…]` and SET `{a,b}` sorted. */
export function stringifyAttribute(attribute: Attribute): string {
  switch (attribute.type) {
    case 'TEXT':
      return attribute.text?.value ?? '';
    case 'SCALAR':
      return SCALAR_FORMAT.format(attribute.scalar?.value ?? 0);
    case 'RANGES': {
      const ranges = (attribute.ranges?.range ?? []).map((r) => ({ begin: Number(r.begin), end: Number(r.end) }));
      ranges.sort((a, b) => a.begin - b.begin);
      return `[${ranges.map((r) => `${r.begin}-${r.end}`).join(',')}]`;
    }
    case 'SET':
      return `{${[...(attribute.set?.item ?? [])].sort().join(',')}}`;
  }
}

/** Every attribute of the offer, stringified; the first of two attributes with one name wins, as in Marathon. */
export function offerAttributes(offer: Offer): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of offer.attributes ?? []) {
    if (!Object.hasOwn(out, a.name)) out[a.name] = stringifyAttribute(a);
  }
  return out;
}

/** The fields that do not name an attribute. Other `@` names are rejected when constraints are parsed. */
export const PSEUDO_FIELDS: readonly string[] = Object.freeze(['hostname', '@hostname', '@region', '@zone']);

/** The field's value on an offer. */
export function offerFieldValue(offer: Offer, field: string): string | undefined {
  switch (field) {
    case 'hostname':
    case '@hostname':
      return offer.hostname;
    case '@region':
      return offer.domain?.fault_domain?.region.name;
    case '@zone':
      return offer.domain?.fault_domain?.zone.name;
    default: {
      const attribute = offer.attributes?.find((a) => a.name === field);
      return attribute === undefined ? undefined : stringifyAttribute(attribute);
    }
  }
}

/** The field's value on a worker placed earlier. */
export function placedFieldValue(placed: PlacedWorker, field: string): string | undefined {
  switch (field) {
    case 'hostname':
    case '@hostname':
      return placed.hostname;
    case '@region':
      return placed.region;
    case '@zone':
      return placed.zone;
    default:
      return Object.hasOwn(placed.attributes, field) ? placed.attributes[field] : undefined;
  }
}

/**
 * The worker as later matches must see it once it runs on the offer's agent: what the driver
 * keeps in its worker records and passes back as `MatchInput.placed`.
 */
export function placedWorkerOf(offer: Offer, workerId: string): PlacedWorker {
  const domain = offer.domain?.fault_domain;
  return {
    workerId,
    agentId: offer.agent_id.value,
    hostname: offer.hostname,
    attributes: offerAttributes(offer),
    ...(domain === undefined ? {} : { region: domain.region.name, zone: domain.zone.name }),
  };
}
