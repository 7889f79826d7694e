/**
 * Record serialization contract. Records cross threads only inside binary batches; a
 * TypeSerializer writes one record into a batch and reads it back. The runtime's default
 * handles plain data (objects, arrays, strings, numbers, booleans, null, bigint); a stream can
 * carry its own with `.withSerializer()` (e.g. a fixed layout for a hot type).
 */
export interface DataOutputView {
  writeUint8(v: number): void;
  writeInt32(v: number): void;
  writeFloat64(v: number): void;
  /** UTF-8 with a length prefix. */
  writeString(s: string): void;
  /** Raw bytes with a length prefix. */
  writeBytes(b: Uint8Array): void;
}

export interface DataInputView {
  readUint8(): number;
  readInt32(): number;
  readFloat64(): number;
  readString(): string;
  readBytes(): Uint8Array;
}

export interface TypeSerializer<T> {
  serialize(value: T, out: DataOutputView): void;
  deserialize(input: DataInputView): T;
}
