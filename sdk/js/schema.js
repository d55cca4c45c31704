//! `t`: the schema builder. Each schema both checks and converts a parsed `Data` value
//! (`decode`) and is a JSON Schema in the subset of `sdk/README.md` (`json`), which `describe`
//! exports. Decoding ignores unknown fields, fills defaults and turns int64 into BigInts.

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;

/** Bad `Data`: `path` (e.g. `numbers[0]`, empty at the top) and what is wrong there. */
export class DataError extends Error {
  constructor(path, problem) {
    super(path ? `${path}: ${problem}` : problem);
    this.name = 'DataError';
    this.path = path;
    this.problem = problem;
  }
}

/** How a value is shown after "got": its JSON, cut at 40 characters. */
function show(value) {
  if (Object.is(value, -0)) return '-0';
  const text =
    JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? JSON.rawJSON(String(v)) : v)) ??
    String(value);
  return text.length > 40 ? `${text.slice(0, 39)}…` : text;
}

const fail = (path, what, value) => {
  throw new DataError(path, `expected ${what}, got ${show(value)}`);
};

/** Shared by every schema: `json` (JSON Schema) and `decode(value, path, exact)`. */
function schema(json, decode, extra = {}) {
  return Object.freeze({ json, decode, ...extra });
}

/**
 * The integer in `value` as a BigInt, or throws. With `exact` (see json.js) integer literals
 * arrive as BigInts and Numbers are floats; without, every Number is an integer literal.
 */
function integer(value, path, exact) {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && !exact && Number.isInteger(value) && !Object.is(value, -0)) {
    return BigInt(value);
  }
  return fail(path, 'an integer', value);
}

/** Any JSON value as it came, with integers as Numbers when they are safe, else BigInts. */
function plain(value) {
  if (typeof value === 'bigint') {
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(value)
      : value;
  }
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object') {
    const out = {};
    for (const key of Object.keys(value)) out[key] = plain(value[key]);
    return out;
  }
  return value;
}

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

/** An object schema over `fields` (each a schema, or `t.optional(schema)`), titled `name`. */
function objectSchema(fields, name) {
  const entries = Object.entries(fields).map(([key, field]) => {
    if (typeof field?.decode !== 'function') {
      throw new TypeError(`field ${key}: not a schema (use t.int64(), t.string(), ...)`);
    }
    return [key, field];
  });
  const json = { type: 'object' };
  if (name !== undefined) json.title = name;
  json.properties = Object.fromEntries(entries.map(([k, f]) => [k, f.json]));
  json.required = entries.filter(([, f]) => !f.optional).map(([k]) => k);
  const decode = (value, path, exact) => {
    if (!isObject(value)) fail(path, 'an object', value);
    const out = {};
    for (const [key, field] of entries) {
      const at = path ? `${path}.${key}` : key;
      const present = Object.hasOwn(value, key);
      if (!present) {
        if (!field.optional) throw new DataError(path, `missing field ${key}`);
        if (field.default !== undefined) out[key] = field.default;
        continue;
      }
      out[key] = field.decode(value[key], at, exact);
    }
    return out;
  };
  return schema(json, decode, name === undefined ? {} : { name });
}

const int64 = () =>
  schema({ type: 'integer', format: 'int64' }, (value, path, exact) => {
    const n = integer(value, path, exact);
    if (n < I64_MIN || n > I64_MAX) fail(path, 'a 64-bit integer', value);
    return n;
  });

const int32 = () =>
  schema({ type: 'integer', format: 'int32' }, (value, path, exact) => {
    const n = integer(value, path, exact);
    if (n < -(2n ** 31n) || n >= 2n ** 31n) fail(path, 'a 32-bit integer', value);
    return Number(n);
  });

const number = () =>
  schema({ type: 'number' }, (value, path) => {
    if (typeof value === 'bigint') return Number(value);
    if (typeof value !== 'number') fail(path, 'a number', value);
    return value;
  });

const string = () =>
  schema({ type: 'string' }, (value, path) =>
    typeof value === 'string' ? value : fail(path, 'a string', value),
  );

const boolean = () =>
  schema({ type: 'boolean' }, (value, path) =>
    typeof value === 'boolean' ? value : fail(path, 'a boolean', value),
  );

const array = (items) =>
  schema({ type: 'array', items: items.json }, (value, path, exact) => {
    if (!Array.isArray(value)) fail(path, 'an array', value);
    return value.map((item, i) => items.decode(item, `${path}[${i}]`, exact));
  });

const literals = (...values) =>
  schema({ enum: values }, (value, path) => {
    if (!values.includes(value)) fail(path, `one of ${values.map(show).join(', ')}`, value);
    return value;
  });

const nullable = (inner) =>
  schema(
    { anyOf: [inner.json, { type: 'null' }] },
    (value, path, exact) => (value === null ? null : inner.decode(value, path, exact)),
  );

const optional = (inner, dflt) =>
  schema(inner.json, inner.decode, { optional: true, default: dflt });

const any = () => schema({}, (value) => plain(value));

/** Telegram's WebAppUser, as the SDK passes it to handlers (and as it serializes). */
const user = () =>
  objectSchema(
    {
      id: int64(),
      is_bot: optional(boolean()),
      first_name: string(),
      last_name: optional(string()),
      username: optional(string()),
      language_code: optional(string()),
      is_premium: optional(boolean()),
      added_to_attachment_menu: optional(boolean()),
      allows_write_to_pm: optional(boolean()),
      photo_url: optional(string()),
    },
    'User',
  );

/** The schema builder. */
export const t = Object.freeze({
  /** A model: an object schema with a name, the `Type` of a request, reply or push. */
  model: (name, fields) => {
    if (typeof name !== 'string' || name === '') throw new TypeError('a model needs a name');
    return objectSchema(fields, name);
  },
  object: (fields) => objectSchema(fields),
  int64,
  int32,
  number,
  string,
  boolean,
  array,
  enum: literals,
  nullable,
  optional,
  any,
  user,
});

export { I64_MIN, I64_MAX };
