/**
 * Serialization for the hot path: byte-array DataOutput/DataInput views and the default record
 * serializer for plain data. The io layer frames what these produce into batches.
 */
export { BUFFER_OVERFLOW, BufferDataOutput, utf8Length } from './data-output.js';
export { BufferDataInput } from './data-input.js';
export { RecordSerializer, createRecordSerializer } from './record-serializer.js';
