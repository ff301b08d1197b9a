/**
 * A small JSON Schema (2020-12) checker covering the keywords schemas/ontime.jobs.schema.json
 * uses, so a test can hold the shipped schema against the validator without a dependency.
 * Returns true when the value is valid. A keyword it does not know fails the check loudly.
 */
type Schema = Record<string, any> | boolean;

const KNOWN = new Set([
  '$schema', 'title', 'description', '$defs', '$ref', 'type', 'required', 'additionalProperties', 'properties', 'items',
  'prefixItems', 'minItems', 'minLength', 'pattern', 'enum', 'const', 'oneOf', 'propertyNames', 'minimum', 'if', 'then',
]);

function typeOk(type: string, value: unknown): boolean {
  switch (type) {
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    case 'array':
      return Array.isArray(value);
    case 'integer':
      return Number.isInteger(value);
    case 'null':
      return value === null;
    default:
      return typeof value === type;
  }
}

export function schemaAccepts(root: Record<string, any>, value: unknown, schema: Schema = root): boolean {
  if (typeof schema === 'boolean') return schema;
  for (const key of Object.keys(schema)) if (!KNOWN.has(key)) throw new Error(`schema keyword ${key} is not supported by the test checker`);
  const check = (s: Schema, v: unknown) => schemaAccepts(root, v, s);
  if (schema.$ref) {
    const name = String(schema.$ref).replace('#/$defs/', '');
    if (!check(root.$defs[name], value)) return false;
  }
  if (schema.type !== undefined) {
    const types: string[] = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (!types.some((t) => typeOk(t, value))) return false;
  }
  if (schema.enum && !schema.enum.includes(value)) return false;
  if ('const' in schema && schema.const !== value) return false;
  if (schema.oneOf && schema.oneOf.filter((s: Schema) => check(s, value)).length !== 1) return false;
  if (schema.if !== undefined && check(schema.if, value) && schema.then !== undefined && !check(schema.then, value)) return false;
  if (typeof value === 'string') {
    if (schema.minLength !== undefined && value.length < schema.minLength) return false;
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value)) return false;
  }
  if (typeof value === 'number' && schema.minimum !== undefined && value < schema.minimum) return false;
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) return false;
    const prefix: Schema[] = schema.prefixItems ?? [];
    if (!prefix.every((s, i) => i >= value.length || check(s, value[i]))) return false;
    if (schema.items !== undefined && !value.every((v) => check(schema.items, v))) return false;
  }
  if (typeOk('object', value)) {
    const obj = value as Record<string, unknown>;
    if (schema.required && !schema.required.every((k: string) => k in obj)) return false;
    for (const [k, v] of Object.entries(obj)) {
      if (schema.propertyNames && !check(schema.propertyNames, k)) return false;
      if (schema.properties && k in schema.properties) {
        if (!check(schema.properties[k], v)) return false;
      } else if (schema.additionalProperties !== undefined && !check(schema.additionalProperties, v)) {
        return false;
      }
    }
  }
  return true;
}
