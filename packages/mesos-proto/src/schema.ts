/**
 * Loads the bundled .proto files with protobufjs once, and describes each message type in the
 * form the codecs walk: fields by snake_case name with their label, kind, enum tables and
 * explicit defaults.
 *
 * Two roots are parsed from the same text. protobufjs' generated decoder throws a bare
 * "missing required 'x'" without saying which message or where, so the codec root is parsed
 * with `required` relaxed to `optional` and the codecs check required fields themselves,
 * reading which fields are required from the faithful root.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

export const PROTO_FILES = [
  'mesos/v1/mesos.proto',
  'mesos/v1/scheduler/scheduler.proto',
  'mesos/v1/executor/executor.proto',
] as const;

export type ScalarType =
  | 'double' | 'float'
  | 'int32' | 'uint32' | 'sint32' | 'fixed32' | 'sfixed32'
  | 'int64' | 'uint64' | 'sint64' | 'fixed64' | 'sfixed64'
  | 'bool' | 'string' | 'bytes';

const SCALARS: ReadonlySet<string> = new Set<ScalarType>([
  'double', 'float', 'int32', 'uint32', 'sint32', 'fixed32', 'sfixed32',
  'int64', 'uint64', 'sint64', 'fixed64', 'sfixed64', 'bool', 'string', 'bytes',
]);

export interface EnumInfo {
  readonly name: string;
  readonly byName: ReadonlyMap<string, number>;
  readonly byNumber: ReadonlyMap<number, string>;
}

/** The value part of a field: what one element (of a repeated field or a map) is. */
export type FieldValue =
  | { readonly kind: 'scalar'; readonly scalar: ScalarType }
  | { readonly kind: 'enum'; readonly enumInfo: EnumInfo }
  | { readonly kind: 'message'; readonly typeName: string };

export interface FieldInfo {
  readonly name: string;
  /** Full name of the message that declares the field, e.g. `mesos.v1.TaskStatus`. */
  readonly owner: string;
  readonly label: 'required' | 'optional' | 'repeated' | 'map';
  readonly value: FieldValue;
  /** The explicit proto2 `[default = …]` in plain form (enum defaults by name), if any. */
  readonly explicitDefault: unknown;
  readonly deprecated: boolean;
  readonly oneof: string | undefined;
}

export interface MessageInfo {
  readonly name: string;
  readonly type: protobuf.Type;
  readonly fields: ReadonlyMap<string, FieldInfo>;
  readonly fieldList: readonly FieldInfo[];
  readonly required: readonly FieldInfo[];
  readonly oneofs: ReadonlyMap<string, readonly string[]>;
}

/** Where the .proto files are: beside this module (src/proto in tests, dist/proto when built). */
export function protoDirectory(): string {
  return fileURLToPath(new URL('./proto/', import.meta.url));
}

/** The text of the bundled .proto files, keyed by import path. */
export function protoSources(): ReadonlyMap<string, string> {
  const dir = protoDirectory();
  return new Map(PROTO_FILES.map((file) => [file, readFileSync(dir + file, 'utf8')]));
}

function parseRoot(sources: ReadonlyMap<string, string>, relaxRequired: boolean): protobuf.Root {
  const root = new protobuf.Root();
  for (const text of sources.values()) {
    protobuf.parse(relaxRequired ? text.replace(/\brequired\b/g, 'optional') : text, root, { keepCase: true });
  }
  root.resolveAll();
  return root;
}

interface Schema {
  readonly codecRoot: protobuf.Root;
  readonly faithfulRoot: protobuf.Root;
  readonly messages: Map<string, MessageInfo>;
  readonly enums: Map<string, EnumInfo>;
}

let schema: Schema | undefined;

function loadSchema(): Schema {
  if (schema === undefined) {
    const sources = protoSources();
    schema = { codecRoot: parseRoot(sources, true), faithfulRoot: parseRoot(sources, false), messages: new Map(), enums: new Map() };
  }
  return schema;
}

/** The protobufjs root of the bundled schema (required fields relaxed: see the module comment). */
export function mesosRoot(): protobuf.Root {
  return loadSchema().codecRoot;
}

function stripDot(name: string): string {
  return name.startsWith('.') ? name.slice(1) : name;
}

function enumInfo(s: Schema, e: protobuf.Enum): EnumInfo {
  const name = stripDot(e.fullName);
  let info = s.enums.get(name);
  if (info === undefined) {
    const byName = new Map<string, number>(Object.entries(e.values));
    const byNumber = new Map<number, string>();
    for (const [key, num] of byName) if (!byNumber.has(num)) byNumber.set(num, key);
    info = { name, byName, byNumber };
    s.enums.set(name, info);
  }
  return info;
}

function fieldValue(s: Schema, field: protobuf.Field): FieldValue {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) return { kind: 'message', typeName: stripDot(resolved.fullName) };
  if (resolved instanceof protobuf.Enum) return { kind: 'enum', enumInfo: enumInfo(s, resolved) };
  if (!SCALARS.has(field.type)) throw new Error(`mesos-proto schema: field ${field.fullName} has unsupported type ${field.type}`);
  return { kind: 'scalar', scalar: field.type as ScalarType };
}

function describe(s: Schema, typeName: string): MessageInfo {
  let type: protobuf.Type;
  let faithful: protobuf.Type;
  try {
    type = s.codecRoot.lookupType(typeName);
    faithful = s.faithfulRoot.lookupType(typeName);
  } catch {
    throw new Error(`mesos-proto schema: no message type '${typeName}' in the bundled .proto files`);
  }
  const fieldList: FieldInfo[] = [];
  for (const field of type.fieldsArray) {
    if (field instanceof protobuf.MapField && field.keyType !== 'string') {
      throw new Error(`mesos-proto schema: map ${field.fullName} must have string keys`);
    }
    const value = fieldValue(s, field);
    const rawDefault: unknown = field.getOption('default');
    const label = field instanceof protobuf.MapField ? 'map' : field.repeated ? 'repeated' : faithful.fields[field.name]?.required ? 'required' : 'optional';
    fieldList.push({
      name: field.name,
      owner: stripDot(type.fullName),
      label,
      value,
      explicitDefault: rawDefault,
      deprecated: field.getOption('deprecated') === true,
      oneof: field.partOf?.name,
    });
  }
  const oneofs = new Map(type.oneofsArray.map((o) => [o.name, o.fieldsArray.map((f) => f.name)] as const));
  return {
    name: stripDot(type.fullName),
    type,
    fields: new Map(fieldList.map((f) => [f.name, f])),
    fieldList,
    required: fieldList.filter((f) => f.label === 'required'),
    oneofs,
  };
}

/** The description of a message type by its full name, e.g. `mesos.v1.scheduler.Call`. */
export function messageInfo(typeName: string): MessageInfo {
  const s = loadSchema();
  let info = s.messages.get(typeName);
  if (info === undefined) {
    info = describe(s, typeName);
    s.messages.set(typeName, info);
  }
  return info;
}
