/**
 * Validation of a pipeline document against schemas/pipeline.schema.json,
 * turning ajv's findings into one message that names the line, the path,
 * what came, what was expected, and the nearest key for a misspelling.
 */
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { errorAt, type Path, type PipelineSource } from './source.js';
import { suggest } from './suggest.js';

const schemaUrl = new URL('../../../schemas/pipeline.schema.json', import.meta.url);

let ajv: Ajv | undefined;
let topLevel: ValidateFunction | undefined;

function compiler(): Ajv {
  if (!ajv) {
    ajv = new Ajv({ allErrors: true, verbose: true, strict: true, strictRequired: false,
      allowUnionTypes: true });
    ajv.addSchema(JSON.parse(readFileSync(schemaUrl, 'utf8')));
  }
  return ajv;
}

export const schemaId = 'https://convergent.dev/schemas/pipeline.schema.json';

/** The top-level shape: networks, data, layers, pairs, stage names. */
export function validateTop(src: PipelineSource, value: unknown): void {
  rejectNonFinite(src, value, []);
  topLevel ??= compiler().getSchema(schemaId)!;
  if (!topLevel(value)) throw toError(src, topLevel.errors!, value, []);
}

/** One stage's parameters, against `$defs/stage-<kind>` or its own schema. */
export function validateParams(src: PipelineSource, name: string, kind: string,
  params: Record<string, unknown>, schema?: object): void {
  const validate = schema
    ? compiler().compile(schema)
    : compiler().getSchema(`${schemaId}#/$defs/stage-${kind}`);
  if (!validate) return;
  if (!validate(params)) {
    throw toError(src, validate.errors!, params, ['stages', name]);
  }
}

/** NaN and infinity parse from YAML (.nan, .inf) but never reach a key. */
function rejectNonFinite(src: PipelineSource, value: unknown, path: Path) {
  if (typeof value === 'number' && !Number.isFinite(value)) {
    throw errorAt(src, path, `got ${value}, expected a finite number`);
  }
  if (Array.isArray(value)) {
    value.forEach((v, i) => rejectNonFinite(src, v, [...path, i]));
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) rejectNonFinite(src, v, [...path, k]);
  }
}

function pointerPath(pointer: string): Path {
  if (!pointer) return [];
  return pointer.slice(1).split('/').map((p) => {
    const s = p.replace(/~1/g, '/').replace(/~0/g, '~');
    return /^\d+$/.test(s) ? Number(s) : s;
  });
}

function valueAt(root: unknown, path: Path): unknown {
  let v: any = root;
  for (const p of path) v = v?.[p];
  return v;
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 60 ? text.slice(0, 57) + '...' : text;
}

/** ajv reports every branch of a oneOf; keep the most telling finding. */
function pick(errors: ErrorObject[]): ErrorObject {
  const rank = (e: ErrorObject) =>
    e.keyword === 'additionalProperties' ? 0
      : e.keyword === 'oneOf' || e.keyword === 'anyOf' ? 3
        : e.keyword === 'required' || e.keyword === 'const' ? 2 : 1;
  return [...errors].sort((a, b) =>
    rank(a) - rank(b) ||
    b.instancePath.split('/').length - a.instancePath.split('/').length)[0];
}

/** What one failed branch expected, for the plain keywords. */
function expectedOf(e: ErrorObject): string | undefined {
  const p = e.params as Record<string, any>;
  switch (e.keyword) {
    case 'const': return show(p.allowedValue);
    case 'enum': return p.allowedValues.map(show).join(', ');
    case 'type': return p.type;
    case 'minimum': case 'maximum':
    case 'exclusiveMinimum': case 'exclusiveMaximum':
      return `a number ${p.comparison} ${p.limit}`;
    default: return undefined;
  }
}

/**
 * "'all' or integer" when an anyOf/oneOf at `at` failed on every branch
 * with plain findings; undefined otherwise (a branch with a deeper error
 * says more on its own).
 */
function alternatives(errors: ErrorObject[], at: string): string | undefined {
  if (!errors.some((e) => (e.keyword === 'anyOf' || e.keyword === 'oneOf') &&
    e.instancePath === at)) return undefined;
  const branches = errors.filter((e) => e.instancePath === at &&
    e.keyword !== 'anyOf' && e.keyword !== 'oneOf');
  const said = branches.map(expectedOf);
  if (branches.length < 2 || said.some((s) => s === undefined)) return undefined;
  return [...new Set(said)].join(' or ');
}

function toError(src: PipelineSource, errors: ErrorObject[], root: unknown,
  prefix: Path) {
  const networkChoice = errors.find((e) => e.keyword === 'oneOf' &&
    /^\/networks\/[^/]+$/.test(e.instancePath));
  if (networkChoice && prefix.length === 0 &&
    !errors.some((e) => e.keyword === 'additionalProperties' ||
      (e.keyword !== 'required' && e.keyword !== 'oneOf'))) {
    const path = pointerPath(networkChoice.instancePath);
    return errorAt(src, path, `got ${show(valueAt(root, path))}, expected ` +
      'exactly one of model, onnx, activations or train');
  }

  const e = pick(errors);
  const inner = pointerPath(e.instancePath);
  const path = [...prefix, ...inner];
  const got = valueAt(root, inner);
  const p = e.params as Record<string, any>;

  // A value with alternatives ('all' or a count) names every one of them.
  const choice = alternatives(errors, e.instancePath);
  if (choice) return errorAt(src, path, `got ${show(got)}, expected ${choice}`);

  switch (e.keyword) {
    case 'additionalProperties': {
      const allowed = Object.keys(
        (e.parentSchema as { properties?: object }).properties ?? {});
      const hint = suggest(p.additionalProperty, allowed);
      return errorAt(src, [...path, p.additionalProperty],
        `unknown key '${p.additionalProperty}'; expected one of ` +
        `${allowed.join(', ')}.${hint}`, true);
    }
    case 'required':
      return errorAt(src, path, `missing required key '${p.missingProperty}'`);
    case 'type':
      return errorAt(src, path, `got ${show(got)}, expected ${p.type}`);
    case 'enum':
      return errorAt(src, path, `got ${show(got)}, expected one of ` +
        `${p.allowedValues.map(show).join(', ')}`);
    case 'const':
      return errorAt(src, path, `got ${show(got)}, expected ${show(p.allowedValue)}`);
    case 'minimum': case 'maximum':
    case 'exclusiveMinimum': case 'exclusiveMaximum':
      return errorAt(src, path, `got ${show(got)}, expected a number ` +
        `${p.comparison} ${p.limit}`);
    case 'minItems':
      return errorAt(src, path, `got ${show(got)}, expected at least ` +
        `${p.limit} item${p.limit === 1 ? '' : 's'}`);
    case 'maxItems':
      return errorAt(src, path, `got ${show(got)}, expected at most ${p.limit} items`);
    case 'minProperties':
      return errorAt(src, path, `got ${show(got)}, expected at least ${p.limit} entry`);
    case 'uniqueItems':
      return errorAt(src, path, `got ${show(got)}, expected no repeated items ` +
        `(items ${p.j} and ${p.i} are equal)`);
    case 'pattern':
      return errorAt(src, path, `got ${show(got)}, expected a name matching ${p.pattern}`);
    case 'propertyNames':
      return errorAt(src, [...path, p.propertyName],
        `the name '${p.propertyName}' is not allowed here`, true);
    default:
      return errorAt(src, path, `got ${show(got)}; ${e.message ?? 'invalid'}`);
  }
}
