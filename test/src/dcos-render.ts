/**
 * Renders infra/dcos the way DC/OS's package manager (Cosmos) does, for the tests: the defaults
 * of config.json merged under the user's options, the result validated against config.json
 * (draft-04, as Cosmos validates it), resource.json added as `resource`, and
 * marathon.json.mustache rendered without HTML escaping. Cosmos hands the template every string
 * already JSON-escaped without its quotes — with them when the string is an element of an array —
 * and numbers as Java Integers or Doubles; `cosmosContext` does the same, so a template that is
 * valid JSON here for every option the schema allows is valid JSON under Cosmos too. (Cosmos'
 * PackageDefinitionRenderer and mustache.java's BaseObjectHandler were read for these rules.)
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ajvDraft04 from 'ajv-draft-04';
import Mustache from 'mustache';

export const DCOS_DIR = fileURLToPath(new URL('../../infra/dcos/', import.meta.url));

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

const readJson = (name: string): JsonObject => JSON.parse(readFileSync(`${DCOS_DIR}${name}`, 'utf8')) as JsonObject;

export interface DcosPackage {
  packageJson: JsonObject;
  config: JsonObject;
  resource: JsonObject;
  template: string;
}

export function loadDcosPackage(): DcosPackage {
  return { packageJson: readJson('package.json'), config: readJson('config.json'), resource: readJson('resource.json'), template: readFileSync(`${DCOS_DIR}marathon.json.mustache`, 'utf8') };
}

const isObject = (v: Json | undefined): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The defaults a schema's properties declare, nested as the options are (Cosmos' extractDefaultsFromSchema). */
export function schemaDefaults(schema: JsonObject): JsonObject {
  const out: JsonObject = {};
  const properties = schema.properties;
  if (!isObject(properties)) return out;
  for (const [key, sub] of Object.entries(properties)) {
    if (!isObject(sub)) continue;
    if (sub.default !== undefined) out[key] = sub.default;
    else if (sub.type === 'object') out[key] = schemaDefaults(sub);
  }
  return out;
}

/** Objects merged key by key, `over` winning; anything else is replaced (Cosmos' JsonUtil.merge). */
export function mergeOptions(under: JsonObject, over: JsonObject): JsonObject {
  const out: JsonObject = { ...under };
  for (const [key, value] of Object.entries(over)) {
    const base = out[key];
    out[key] = isObject(base) && isObject(value) ? mergeOptions(base, value) : value;
  }
  return out;
}

/** Java's Double.toString for the doubles Cosmos passes (non-integral, or beyond an int). */
function javaDouble(n: number): string {
  const abs = Math.abs(n);
  if (abs >= 1e-3 && abs < 1e7) return Number.isInteger(n) ? `${n}.0` : String(n);
  const [mantissa, exponent] = n.toExponential().split('e') as [string, string];
  return `${mantissa.includes('.') ? mantissa : `${mantissa}.0`}E${Number(exponent)}`;
}

type MustacheValue = null | boolean | string | MustacheValue[] | { [key: string]: MustacheValue };

/** What Cosmos gives mustache.java for a JSON value (its jsonToJava). */
export function cosmosContext(json: Json, inArray = false): MustacheValue {
  if (json === null || typeof json === 'boolean') return json;
  if (typeof json === 'number') return Number.isInteger(json) && Math.abs(json) <= 2 ** 31 - 1 ? String(json) : javaDouble(json);
  if (typeof json === 'string') {
    const encoded = JSON.stringify(json);
    return inArray ? encoded : encoded.slice(1, -1);
  }
  if (Array.isArray(json)) return json.map((v) => cosmosContext(v, true));
  return Object.fromEntries(Object.entries(json).map(([k, v]) => [k, cosmosContext(v, false)]));
}

/** An option set the package's schema refuses: ajv's messages, each with the option's path. */
export class DcosOptionsError extends Error {
  constructor(readonly errors: string[]) {
    super(`the options do not match config.json:\n  ${errors.join('\n  ')}`);
    this.name = 'DcosOptionsError';
  }
}

// A CommonJS module: its `default` is the class both to TypeScript and at run time.
export const Ajv04 = ajvDraft04.default;
const ajv = new Ajv04({ allErrors: true, strict: false });

/** Checks merged options against config.json; throws DcosOptionsError listing what is wrong. */
export function validateOptions(pkg: DcosPackage, options: JsonObject): void {
  const validate = ajv.compile(pkg.config);
  if (validate(options)) return;
  throw new DcosOptionsError((validate.errors ?? []).map((e) => `${e.instancePath === '' ? '(options)' : e.instancePath} ${e.message ?? 'is invalid'}${e.params && 'allowedValues' in e.params ? `: ${JSON.stringify(e.params.allowedValues)}` : ''}${e.params && 'additionalProperty' in e.params ? `: ${String(e.params.additionalProperty)}` : ''}`));
}

export interface RenderedApp {
  /** The rendered text, as Marathon would receive it. */
  text: string;
  app: JsonObject;
  /** Defaults merged with the user's options: what was rendered. */
  options: JsonObject;
}

/** `dcos package install sluice --options=<options>` up to the Marathon app Cosmos would POST. */
export function renderDcosPackage(pkg: DcosPackage, userOptions: JsonObject = {}): RenderedApp {
  const options = mergeOptions(schemaDefaults(pkg.config), userOptions);
  validateOptions(pkg, options);
  const context = cosmosContext({ ...options, resource: pkg.resource }) as Record<string, MustacheValue>;
  const text = Mustache.render(pkg.template, context, {}, { escape: (s: string) => s });
  let app: JsonObject;
  try {
    app = JSON.parse(text) as JsonObject;
  } catch (err) {
    throw new Error(`the rendered template is not JSON (${(err as Error).message}):\n${text}`);
  }
  // Cosmos adds its own labels after rendering; the options label is what `dcos package describe` shows.
  const labels = isObject(app.labels) ? app.labels : {};
  app.labels = {
    ...labels,
    DCOS_PACKAGE_NAME: String(pkg.packageJson.name),
    DCOS_PACKAGE_VERSION: String(pkg.packageJson.version),
    DCOS_PACKAGE_OPTIONS: Buffer.from(JSON.stringify(userOptions)).toString('base64'),
  };
  return { text, app, options };
}
