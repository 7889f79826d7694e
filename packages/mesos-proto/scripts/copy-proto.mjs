// The codecs parse the .proto text at runtime (src/proto next to the sources in tests,
// dist/proto next to the compiled modules), so the build copies it beside the output.
import { cpSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const from = fileURLToPath(new URL('../src/proto', import.meta.url));
const to = fileURLToPath(new URL('../dist/proto', import.meta.url));
rmSync(to, { recursive: true, force: true });
cpSync(from, to, { recursive: true });
