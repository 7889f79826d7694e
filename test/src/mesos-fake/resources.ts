/**
 * The fake's resource model: agent `--resources` / `--attributes` strings parsed with Mesos's
 * syntax, resource arithmetic that keeps entries with different metadata apart (as
 * `mesos::Resources` does), and the two wire formats a framework may see: post-refinement
 * (`reservations` stack) for RESERVATION_REFINEMENT frameworks and pre-refinement (`role`,
 * `reservation`) otherwise. Pure: no I/O.
 */
import type { Attribute, DiskInfo, ReservationInfo, Resource, ValueType } from '@sluice/mesos-proto';

/** One resource entry inside the fake: always the post-refinement form, amounts as numbers. */
export interface Res {
  name: string;
  type: ValueType;
  /** Fixed point, 3 decimals (Mesos rounds scalars the same way). */
  scalar?: number;
  ranges?: [number, number][];
  set?: string[];
  /** Empty: unreserved. Each entry refines the one before. */
  reservations: ReservationInfo[];
  /** The role an offered/used entry is allocated to (Resource.allocation_info). */
  allocationRole?: string;
  disk?: DiskInfo;
  revocable?: boolean;
  shared?: boolean;
  providerId?: string;
}

export class ResourceSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ResourceSyntaxError';
  }
}

const round3 = (v: number): number => Math.round(v * 1000) / 1000;

function parseRanges(text: string, what: string): [number, number][] {
  const inner = text.slice(1, -1).trim();
  if (inner === '') return [];
  return inner.split(',').map((part) => {
    const m = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(part);
    if (m === null) throw new ResourceSyntaxError(`${what}: range '${part.trim()}' is not 'begin-end'`);
    const begin = Number(m[1]);
    const end = Number(m[2]);
    if (begin > end) throw new ResourceSyntaxError(`${what}: range '${part.trim()}' ends before it begins`);
    return [begin, end];
  });
}

function parseSet(text: string): string[] {
  return text
    .slice(1, -1)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/**
 * Parses an agent resource string such as `cpus:4;mem:4096;ports:[31000-31999];cpus(ads):2`.
 * `name(role)` makes a static reservation. Values: scalar, `[b-e,…]` ranges, `{a,b}` set.
 */
export function parseResources(text: string): Res[] {
  const out: Res[] = [];
  for (const raw of text.split(';')) {
    const item = raw.trim();
    if (item === '') continue;
    const m = /^([A-Za-z0-9_.-]+)(?:\(([^)]*)\))?\s*:\s*(.+)$/.exec(item);
    if (m === null) throw new ResourceSyntaxError(`resource '${item}' is not 'name:value' or 'name(role):value'`);
    const [, name, role, value] = m as unknown as [string, string, string | undefined, string];
    const reservations: ReservationInfo[] = role === undefined || role === '*' || role === '' ? [] : [{ type: 'STATIC', role }];
    const v = value.trim();
    let res: Res;
    if (v.startsWith('[')) res = { name, type: 'RANGES', ranges: normalizeRanges(parseRanges(v, `resource '${item}'`)), reservations };
    else if (v.startsWith('{')) res = { name, type: 'SET', set: [...new Set(parseSet(v))].sort(), reservations };
    else {
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0) throw new ResourceSyntaxError(`resource '${item}' has a bad scalar value '${v}'`);
      res = { name, type: 'SCALAR', scalar: round3(n), reservations };
    }
    addInto(out, res);
  }
  return out;
}

/** Parses `rack:r1;cores:8;ports:[1-5];zones:{a,b}` as Mesos does: scalar if numeric, else ranges/set/text. */
export function parseAttributes(text: string): Attribute[] {
  const out: Attribute[] = [];
  for (const raw of text.split(';')) {
    const item = raw.trim();
    if (item === '') continue;
    const colon = item.indexOf(':');
    if (colon <= 0) throw new ResourceSyntaxError(`attribute '${item}' is not 'name:value'`);
    const name = item.slice(0, colon).trim();
    const v = item.slice(colon + 1).trim();
    if (v.startsWith('[')) {
      const ranges = normalizeRanges(parseRanges(v, `attribute '${item}'`));
      out.push({ name, type: 'RANGES', ranges: { range: ranges.map(([begin, end]) => ({ begin, end })) } });
    } else if (v.startsWith('{')) out.push({ name, type: 'SET', set: { item: parseSet(v) } });
    else if (v !== '' && Number.isFinite(Number(v))) out.push({ name, type: 'SCALAR', scalar: { value: Number(v) } });
    else out.push({ name, type: 'TEXT', text: { value: v } });
  }
  return out;
}

// --- metadata -------------------------------------------------------------------------------

function stable(value: unknown): string {
  if (value instanceof Uint8Array) return JSON.stringify(Buffer.from(value).toString('base64'));
  if (Array.isArray(value)) return `[${value.map(stable).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).filter((k) => (value as Record<string, unknown>)[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${stable((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Everything but the amount: two entries combine or compare only when these are equal. */
export function metadataKey(r: Res): string {
  return stable({
    n: r.name,
    t: r.type,
    rs: r.reservations.map((x) => ({ type: x.type ?? 'UNKNOWN', role: x.role, principal: x.principal, labels: x.labels?.labels ?? [] })),
    a: r.allocationRole,
    d: r.disk,
    rv: r.revocable === true,
    sh: r.shared === true,
    p: r.providerId,
  });
}

/** The role a reserved entry belongs to (the last refinement), or undefined when unreserved. */
export function reservationRole(r: Res): string | undefined {
  return r.reservations.at(-1)?.role;
}

// --- arithmetic -----------------------------------------------------------------------------

function normalizeRanges(ranges: [number, number][]): [number, number][] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const [b, e] of sorted) {
    const last = out.at(-1);
    if (last !== undefined && b <= last[1] + 1) last[1] = Math.max(last[1], e);
    else out.push([b, e]);
  }
  return out;
}

function subtractRanges(have: [number, number][], take: [number, number][]): [number, number][] | undefined {
  let out = normalizeRanges(have);
  for (const [b, e] of normalizeRanges(take)) {
    const holder = out.find(([hb, he]) => hb <= b && e <= he);
    if (holder === undefined) return undefined;
    const next: [number, number][] = [];
    for (const r of out) {
      if (r !== holder) next.push(r);
      else {
        if (r[0] < b) next.push([r[0], b - 1]);
        if (e < r[1]) next.push([e + 1, r[1]]);
      }
    }
    out = next;
  }
  return out;
}

function isEmpty(r: Res): boolean {
  if (r.type === 'SCALAR') return (r.scalar ?? 0) <= 0;
  if (r.type === 'RANGES') return (r.ranges ?? []).length === 0;
  if (r.type === 'SET') return (r.set ?? []).length === 0;
  return true;
}

export function cloneRes(r: Res): Res {
  return structuredClone(r);
}

/** Adds `r` to `list` in place, merging with an entry of equal metadata. */
export function addInto(list: Res[], r: Res): void {
  if (isEmpty(r)) return;
  const key = metadataKey(r);
  const same = list.find((x) => metadataKey(x) === key);
  if (same === undefined) {
    list.push(cloneRes(r));
    return;
  }
  if (r.type === 'SCALAR') same.scalar = round3((same.scalar ?? 0) + (r.scalar ?? 0));
  else if (r.type === 'RANGES') same.ranges = normalizeRanges([...(same.ranges ?? []), ...(r.ranges ?? [])]);
  else if (r.type === 'SET') same.set = [...new Set([...(same.set ?? []), ...(r.set ?? [])])].sort();
}

export function sum(...lists: readonly Res[][]): Res[] {
  const out: Res[] = [];
  for (const list of lists) for (const r of list) addInto(out, r);
  return out;
}

/**
 * Subtracts `r` from `list` in place; false (and `list` unchanged) when `list` does not hold
 * it: no entry with equal metadata, or not enough of the amount.
 */
export function subtractFrom(list: Res[], r: Res): boolean {
  if (isEmpty(r)) return true;
  const key = metadataKey(r);
  const index = list.findIndex((x) => metadataKey(x) === key);
  const same = list[index];
  if (same === undefined) return false;
  if (r.type === 'SCALAR') {
    const left = round3((same.scalar ?? 0) - (r.scalar ?? 0));
    if (left < 0) return false;
    same.scalar = left;
  } else if (r.type === 'RANGES') {
    const left = subtractRanges(same.ranges ?? [], r.ranges ?? []);
    if (left === undefined) return false;
    same.ranges = left;
  } else if (r.type === 'SET') {
    const have = new Set(same.set ?? []);
    if (!(r.set ?? []).every((i) => have.has(i))) return false;
    same.set = (same.set ?? []).filter((i) => !(r.set ?? []).includes(i));
  } else return false;
  if (isEmpty(same)) list.splice(index, 1);
  return true;
}

/** `list` minus all of `take`, or undefined when `list` does not contain it. */
export function subtract(list: readonly Res[], take: readonly Res[]): Res[] | undefined {
  const out = list.map(cloneRes);
  for (const r of take) if (!subtractFrom(out, r)) return undefined;
  return out;
}

/** `list` minus whatever of `take` it holds (never fails; for bookkeeping). */
export function subtractAvailable(list: readonly Res[], take: readonly Res[]): Res[] {
  const out = list.map(cloneRes);
  for (const r of take) {
    if (subtractFrom(out, r)) continue;
    const same = out.find((x) => metadataKey(x) === metadataKey(r));
    if (same?.type === 'SCALAR') same.scalar = Math.max(0, round3((same.scalar ?? 0) - (r.scalar ?? 0)));
  }
  return out.filter((r) => !isEmpty(r));
}

export function withAllocation(list: readonly Res[], role: string | undefined): Res[] {
  return list.map((r) => {
    const c = cloneRes(r);
    if (role === undefined) delete c.allocationRole;
    else c.allocationRole = role;
    return c;
  });
}

// --- wire formats ---------------------------------------------------------------------------

export interface ResourceFormat {
  /** RESERVATION_REFINEMENT: `reservations` stack; otherwise `role` + `reservation`. */
  refinement: boolean;
  /** MULTI_ROLE: `allocation_info` on every entry. */
  multiRole: boolean;
}

/** The entry as a framework with the given capabilities sees it. */
export function toWire(r: Res, format: ResourceFormat): Resource {
  const out: Resource = { name: r.name, type: r.type };
  if (r.providerId !== undefined) out.provider_id = { value: r.providerId };
  if (r.type === 'SCALAR') out.scalar = { value: r.scalar ?? 0 };
  if (r.type === 'RANGES') out.ranges = { range: (r.ranges ?? []).map(([begin, end]) => ({ begin, end })) };
  if (r.type === 'SET') out.set = { item: [...(r.set ?? [])] };
  if (format.refinement) {
    if (r.reservations.length > 0) out.reservations = structuredClone(r.reservations);
  } else {
    const last = r.reservations.at(-1);
    out.role = last?.role ?? '*';
    if (last?.type === 'DYNAMIC') {
      const reservation: ReservationInfo = {};
      if (last.principal !== undefined) reservation.principal = last.principal;
      if (last.labels !== undefined) reservation.labels = structuredClone(last.labels);
      out.reservation = reservation;
    }
  }
  if (format.multiRole && r.allocationRole !== undefined) out.allocation_info = { role: r.allocationRole };
  if (r.disk !== undefined) out.disk = structuredClone(r.disk);
  if (r.revocable === true) out.revocable = {};
  if (r.shared === true) out.shared = {};
  return out;
}

/** Reads a Resource a framework sent (either format) into the fake's form; a string is the validation error. */
export function fromWire(resource: Resource): Res | string {
  const res: Res = { name: resource.name, type: resource.type, reservations: [] };
  if (resource.type === 'SCALAR') {
    const v = resource.scalar?.value;
    if (v === undefined || !Number.isFinite(v) || v < 0) return `Resource '${resource.name}' has an invalid scalar value`;
    res.scalar = round3(v);
  } else if (resource.type === 'RANGES') {
    const ranges = (resource.ranges?.range ?? []).map((x): [number, number] => [Number(x.begin), Number(x.end)]);
    if (ranges.some(([b, e]) => b > e)) return `Resource '${resource.name}' has a range that ends before it begins`;
    res.ranges = normalizeRanges(ranges);
  } else if (resource.type === 'SET') res.set = [...new Set(resource.set?.item ?? [])].sort();
  else return `Resource '${resource.name}' has unsupported type ${resource.type}`;
  const refined = resource.reservations ?? [];
  if (refined.length > 0) {
    if ((resource.role !== undefined && resource.role !== '*') || resource.reservation !== undefined) {
      return `Resource '${resource.name}' sets 'reservations' together with the pre-refinement 'role'/'reservation'`;
    }
    res.reservations = structuredClone(refined);
  } else if (resource.role !== undefined && resource.role !== '*') {
    const r: ReservationInfo = { type: resource.reservation === undefined ? 'STATIC' : 'DYNAMIC', role: resource.role };
    if (resource.reservation?.principal !== undefined) r.principal = resource.reservation.principal;
    if (resource.reservation?.labels !== undefined) r.labels = structuredClone(resource.reservation.labels);
    res.reservations = [r];
  } else if (resource.reservation !== undefined) {
    return `Resource '${resource.name}' has a 'reservation' for role '*'`;
  }
  if (resource.allocation_info?.role !== undefined) res.allocationRole = resource.allocation_info.role;
  if (resource.disk !== undefined) res.disk = structuredClone(resource.disk);
  if (resource.revocable !== undefined) res.revocable = true;
  if (resource.shared !== undefined) res.shared = true;
  if (resource.provider_id !== undefined) res.providerId = resource.provider_id.value;
  return res;
}

/** Mesos's text rendering of resources, for error messages: `cpus(allocated: r)(reservations: [...]):1`. */
export function describe(list: readonly Res[]): string {
  if (list.length === 0) return '{}';
  return list
    .map((r) => {
      let s = r.name;
      if (r.allocationRole !== undefined) s += `(allocated: ${r.allocationRole})`;
      if (r.reservations.length > 0) s += `(reservations: [${r.reservations.map((x) => `(${x.type ?? 'UNKNOWN'},${x.role ?? ''}${x.principal === undefined ? '' : `,${x.principal}`})`).join(',')}])`;
      if (r.disk !== undefined) s += `[disk]`;
      if (r.type === 'SCALAR') return `${s}:${r.scalar ?? 0}`;
      if (r.type === 'RANGES') return `${s}:[${(r.ranges ?? []).map(([b, e]) => `${b}-${e}`).join(', ')}]`;
      return `${s}:{${(r.set ?? []).join(', ')}}`;
    })
    .join('; ');
}

/** Scalar total of `name` across the entries (e.g. free cpus). */
export function scalarOf(list: readonly Res[], name: string): number {
  return round3(list.filter((r) => r.name === name && r.type === 'SCALAR').reduce((a, r) => a + (r.scalar ?? 0), 0));
}
