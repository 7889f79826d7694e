/**
 * Placement constraints as users write them: Marathon's JSON form
 * `[["hostname","UNIQUE"],["rack","GROUP_BY","3"]]` or Flink's hard host-attribute shorthand
 * `attr:value,attr2:value2` (each pair: the attribute must equal the value, i.e. IS), validated
 * here at the edge, and compiled (regexes built, numbers read) for the matcher.
 */
import { ConfigurationError } from '@sluice/common';
import { PSEUDO_FIELDS } from './attributes.js';
import type { ConstraintOperator, PlacementConstraint } from './types.js';

const OPERATORS: readonly ConstraintOperator[] = ['LIKE', 'UNLIKE', 'IS', 'IN', 'CLUSTER', 'UNIQUE', 'MAX_PER', 'GROUP_BY'];

const FORMS =
  'accepted forms: Marathon JSON [["field","OPERATOR"] or ["field","OPERATOR","value"], …] with OPERATOR one of ' +
  `${OPERATORS.join(', ')} and field hostname, @hostname, @region, @zone or an attribute name; ` +
  "or Flink's shorthand attr:value,attr2:value2 (each attribute must equal its value)";

/** A constraint ready to evaluate: regex built, counts read, IN list split. */
export interface CompiledConstraint {
  readonly field: string;
  readonly operator: ConstraintOperator;
  readonly value: string | undefined;
  /** Readable form for reasons and errors: `rack GROUP_BY 3`. */
  readonly text: string;
  /** LIKE/UNLIKE: the value anchored at both ends (Marathon uses Java's whole-string `matches`). */
  readonly regex: RegExp | undefined;
  /** MAX_PER: the limit; GROUP_BY: the minimum number of groups (0 without a value). */
  readonly count: number;
  /** IN: the accepted values. */
  readonly list: ReadonlySet<string> | undefined;
  /** True when the verdict depends only on the offer (LIKE, UNLIKE, IS, IN, CLUSTER with a value). */
  readonly static: boolean;
}

export function describeConstraint(c: PlacementConstraint): string {
  return c.value === undefined ? `${c.field} ${c.operator}` : `${c.field} ${c.operator} ${c.value}`;
}

/** Parses the user's constraint text (empty: none). Throws ConfigurationError naming the bad element. */
export function parseConstraints(text: string): PlacementConstraint[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  const constraints = trimmed.startsWith('[') ? parseMarathonJson(trimmed) : parseFlinkShorthand(trimmed);
  compileConstraints(constraints);
  return constraints;
}

function parseMarathonJson(text: string): PlacementConstraint[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new ConfigurationError(`placement constraints '${text}' are not valid JSON (${e instanceof Error ? e.message : String(e)}); ${FORMS}`, { cause: e });
  }
  if (!Array.isArray(doc)) throw new ConfigurationError(`placement constraints '${text}' must be a JSON array of constraints; ${FORMS}`);
  return doc.map((element: unknown, i) => {
    const where = `placement constraint #${i + 1} ${JSON.stringify(element)}`;
    if (!Array.isArray(element) || element.length < 2 || element.length > 3 || !element.every((x) => typeof x === 'string')) {
      throw new ConfigurationError(`${where} must be an array of 2 or 3 strings [field, OPERATOR, value?]; ${FORMS}`);
    }
    const [field, operator, value] = element as string[];
    return { field: field!, operator: operator!.toUpperCase() as ConstraintOperator, ...(value === undefined ? {} : { value }) };
  });
}

function parseFlinkShorthand(text: string): PlacementConstraint[] {
  return text.split(',').map((pair) => {
    const at = pair.indexOf(':');
    const field = at < 0 ? '' : pair.slice(0, at).trim();
    const value = at < 0 ? '' : pair.slice(at + 1).trim();
    if (field === '' || value === '') {
      throw new ConfigurationError(`placement constraint '${pair.trim()}' in '${text}' is not attr:value; ${FORMS}`);
    }
    return { field, operator: 'IS', value };
  });
}

/** Validates constraints given in any form (also programmatic ones) and prepares them for matching. */
export function compileConstraints(constraints: readonly PlacementConstraint[]): CompiledConstraint[] {
  return constraints.map((c, i) => compileOne(c, `placement constraint #${i + 1} '${describeConstraint(c)}'`));
}

function compileOne(c: PlacementConstraint, where: string): CompiledConstraint {
  if (typeof c.field !== 'string' || c.field.trim() === '') throw new ConfigurationError(`${where} has no field; ${FORMS}`);
  if (c.field.startsWith('@') && !PSEUDO_FIELDS.includes(c.field)) {
    throw new ConfigurationError(`${where}: unknown field ${c.field} (the @ fields are @hostname, @region and @zone); ${FORMS}`);
  }
  if (!OPERATORS.includes(c.operator)) throw new ConfigurationError(`${where}: unknown operator '${String(c.operator)}'; ${FORMS}`);
  const value = c.value;
  const base = { field: c.field, operator: c.operator, value, text: describeConstraint(c), regex: undefined, count: 0, list: undefined };
  const needs = (what: string): string => {
    if (value === undefined || value === '') throw new ConfigurationError(`${where}: ${c.operator} needs a value (${what}); ${FORMS}`);
    return value;
  };
  switch (c.operator) {
    case 'LIKE':
    case 'UNLIKE': {
      const pattern = needs('a regular expression the whole value must match');
      let regex: RegExp;
      try {
        regex = new RegExp(`^(?:${pattern})$`);
      } catch (e) {
        throw new ConfigurationError(`${where}: '${pattern}' is not a valid regular expression (${e instanceof Error ? e.message : String(e)}); ${FORMS}`, { cause: e });
      }
      return { ...base, regex, static: true };
    }
    case 'IS':
      needs('the value to equal');
      return { ...base, static: true };
    case 'IN': {
      // Marathon splits on commas with any spaces around them.
      const items = needs('a comma-separated list').split(/ *, */);
      if (items.some((x) => x === '')) throw new ConfigurationError(`${where}: IN list '${value}' has an empty item; ${FORMS}`);
      return { ...base, list: new Set(items), static: true };
    }
    case 'CLUSTER':
      return { ...base, static: value !== undefined && value !== '' };
    case 'UNIQUE':
      if (value !== undefined) throw new ConfigurationError(`${where}: UNIQUE takes no value, got '${value}'; ${FORMS}`);
      return { ...base, static: false };
    case 'MAX_PER':
      return { ...base, count: positiveInteger(needs('the most TaskManagers per value, a positive integer'), where), static: false };
    case 'GROUP_BY':
      return { ...base, count: value === undefined ? 0 : positiveInteger(value, where), static: false };
  }
}

function positiveInteger(value: string, where: string): number {
  const n = /^[0-9]+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new ConfigurationError(`${where}: '${value}' is not a positive integer; ${FORMS}`);
  return n;
}

/** The verdict of a static constraint on an offer's value of its field (undefined: the offer lacks it). */
export function staticAccepts(c: CompiledConstraint, value: string | undefined): boolean {
  if (value === undefined) return c.operator === 'UNLIKE';
  switch (c.operator) {
    case 'LIKE':
      return c.regex!.test(value);
    case 'UNLIKE':
      return !c.regex!.test(value);
    case 'IS':
    case 'CLUSTER':
      return value === c.value;
    case 'IN':
      return c.list!.has(value);
    default:
      return true;
  }
}
