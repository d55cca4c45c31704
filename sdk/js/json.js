//! JSON in and out with exact 64-bit integers: `parseJson` reads integer literals that a double
//! cannot hold as BigInts, `stringify` writes BigInts as JSON integers.
//!
//! The fast path is a plain `JSON.parse`. A text where no digit is followed by `.`, `e` or `E`
//! and no run of digits is 16 long holds only integer literals below 10^15, which doubles
//! represent exactly, so nothing is lost. Any other text is parsed again with a reviver that
//! reads each number's source text (ES2025 "JSON.parse source text access", which the
//! StarlingMonkey engine has): integer literals become BigInts, the rest stay Numbers.

/** A text that may hold a number `JSON.parse` would blur (a fraction, exponent or 16+ digits). */
const SUSPECT = /\d[.eE]|\d{16}/;
/** An integer literal as JSON writes it (`-0` is a float to serde_json, and to us). */
const INTEGER = /^-?(?:0|[1-9]\d*)$/;

function exactReviver(_key, value, context) {
  if (typeof value === 'number' && context !== undefined && INTEGER.test(context.source) &&
      context.source !== '-0') {
    return BigInt(context.source);
  }
  return value;
}

/**
 * Parses `text` (throws a SyntaxError when it is not JSON). Returns `{ value, exact }`: with
 * `exact` false every number in `value` is an integer literal held exactly as a Number (the fast
 * path); with `exact` true integer literals are BigInts and every Number is a non-integer
 * literal (`1.0`, `1e2`, `-0`, `1.5`).
 */
export function parseJson(text) {
  if (!SUSPECT.test(text)) return { value: JSON.parse(text), exact: false };
  return { value: JSON.parse(text, exactReviver), exact: true };
}

function bigintReplacer(_key, value) {
  return typeof value === 'bigint' ? JSON.rawJSON(value.toString()) : value;
}

/** `JSON.stringify` that writes BigInts as integers (compact; `undefined` fields left out). */
export function stringify(value) {
  return JSON.stringify(value === undefined ? null : value, bigintReplacer);
}
