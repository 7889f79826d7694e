/**
 * Protobuf record values: decodes a record's value with a protobufjs message `Type` and turns the
 * message into a plain object the runtime can carry (longs and enums as strings, bytes as base64
 * by default). The schema is resolved when the deserializer is made — while the job is built —
 * so a wrong file or message name fails the job definition, not the first record.
 */
import protobuf from 'protobufjs';
import { ConfigurationError, describeError } from '@sluice/common';
import type { KafkaDeserializer } from './records.js';

export type ProtobufSchema =
  /** A message type you built or loaded yourself. */
  | { type: protobuf.Type }
  /** A .proto file (or several) and the fully qualified message name in it, e.g. 'shop.Order'. */
  | { protoFile: string | readonly string[]; messageType: string };

export interface ProtobufDeserializerOptions {
  /** protobufjs `toObject` options; replaces the default below as a whole. */
  conversion?: protobuf.IConversionOptions;
}

/**
 * Plain data that survives the runtime's record format and JSON: 64-bit integers as decimal
 * strings (no precision loss), enums by name, bytes as base64, unset fields with their defaults.
 */
export const DEFAULT_PROTOBUF_CONVERSION: Readonly<protobuf.IConversionOptions> = Object.freeze({ longs: String, enums: String, bytes: String, defaults: true });

export function resolveProtobufType(schema: ProtobufSchema): protobuf.Type {
  if (schema === null || typeof schema !== 'object') throw new ConfigurationError("Kafka protobuf deserializer needs { type } or { protoFile, messageType }");
  if ('type' in schema) {
    if (!(schema.type instanceof protobuf.Type)) throw new ConfigurationError('Kafka protobuf deserializer: `type` must be a protobufjs Type (e.g. root.lookupType(...))');
    return schema.type;
  }
  const files = typeof schema.protoFile === 'string' ? [schema.protoFile] : [...schema.protoFile];
  if (files.length === 0 || files.some((f) => typeof f !== 'string' || f === '')) throw new ConfigurationError('Kafka protobuf deserializer: protoFile must name a .proto file');
  if (typeof schema.messageType !== 'string' || schema.messageType === '') throw new ConfigurationError('Kafka protobuf deserializer: messageType must name a message, e.g. "shop.Order"');
  let root: protobuf.Root;
  try {
    root = protobuf.loadSync(files);
  } catch (err) {
    throw new ConfigurationError(`Kafka protobuf deserializer could not load ${files.join(', ')}: ${describeError(err)}`, { cause: err });
  }
  try {
    return root.lookupType(schema.messageType);
  } catch {
    const known = messageNames(root);
    throw new ConfigurationError(
      `Kafka protobuf deserializer: no message type '${schema.messageType}' in ${files.join(', ')}; ${known.length === 0 ? 'the file defines no messages' : `it defines ${known.join(', ')}`}`,
    );
  }
}

export function protobufDeserializer<T>(schema: ProtobufSchema, options: ProtobufDeserializerOptions = {}): KafkaDeserializer<T> {
  const type = resolveProtobufType(schema);
  const conversion = options.conversion ?? DEFAULT_PROTOBUF_CONVERSION;
  return (r) => {
    if (r.value === null) return undefined;
    let message: protobuf.Message;
    try {
      message = type.decode(r.value);
    } catch (err) {
      throw new Error(`not a valid protobuf ${type.fullName.replace(/^\./, '')}: ${describeError(err)}`, { cause: err });
    }
    return type.toObject(message, conversion) as T;
  };
}

/** Fully qualified names of every message type under `ns`, for error messages. */
function messageNames(ns: protobuf.NamespaceBase): string[] {
  const out: string[] = [];
  for (const nested of ns.nestedArray) {
    if (nested instanceof protobuf.Type) out.push(nested.fullName.replace(/^\./, ''));
    if (nested instanceof protobuf.Namespace || nested instanceof protobuf.Type) out.push(...messageNames(nested));
  }
  return out;
}
