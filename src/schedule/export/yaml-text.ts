/**
 * A small YAML writer for the manifests we generate (maps, lists, strings, numbers, booleans).
 * Strings are written as JSON strings, which are valid YAML double-quoted scalars, so no value
 * (a schedule "0 * * * *", a name like "on") can be misread.
 */
type Value = string | number | boolean | null | Value[] | { [key: string]: Value | undefined };

function scalar(v: string | number | boolean | null): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

function isScalar(v: Value): v is string | number | boolean | null {
  return v === null || typeof v !== 'object';
}

export function toYaml(value: Value, indent = ''): string {
  if (isScalar(value)) return `${indent}${scalar(value)}\n`;
  let out = '';
  if (Array.isArray(value)) {
    if (value.length === 0) return `${indent}[]\n`;
    for (const item of value) {
      if (isScalar(item)) out += `${indent}- ${scalar(item)}\n`;
      else {
        // The first line of a nested block goes after the dash; the rest keep its indentation.
        const block = toYaml(item, indent + '  ');
        out += `${indent}- ${block.slice(indent.length + 2)}`;
      }
    }
    return out;
  }
  for (const [key, v] of Object.entries(value)) {
    if (v === undefined) continue;
    if (isScalar(v)) out += `${indent}${key}: ${scalar(v)}\n`;
    else if (Array.isArray(v) && v.length === 0) out += `${indent}${key}: []\n`;
    else if (!Array.isArray(v) && Object.keys(v).length === 0) out += `${indent}${key}: {}\n`;
    else out += `${indent}${key}:\n${toYaml(v, indent + '  ')}`;
  }
  return out;
}
