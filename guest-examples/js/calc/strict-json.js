//! A strict JSON reader for the calc example: it accepts and rejects exactly the documents that
//! the Rust reference's serde_json (default features) does, and it keeps integers exact.
//!
//! `JSON.parse` alone will not do: it reads 9223372036854775807 as the double
//! 9223372036854775808, so an i64 could neither be summed exactly nor told from a number just
//! past i64. Here an integer literal (no fraction, no exponent) becomes a BigInt; any other
//! number, and `-0` (a float to serde_json), becomes a Number. Objects have a null prototype.
//! Like serde_json it also rejects nesting deeper than 127, escapes that leave a lone UTF-16
//! surrogate, and numbers that serde_json finds out of range (e.g. `1e400`).

const MAX_DEPTH = 127; // serde_json's recursion limit of 128 admits 127 nested arrays/objects
const U64_MAX = 2n ** 64n - 1n;

// One token after optional whitespace: punctuation, string, number or literal.
const TOKEN =
  /[ \t\n\r]*(?:([[\]{}:,])|("(?:[^"\\\u0000-\u001f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*")|(-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)|(true|false|null))/y;
const WHITESPACE = /^[ \t\n\r]*$/;

/** Parses `text`, throwing a SyntaxError where serde_json would fail. */
export function parseJson(text) {
  let pos = 0;

  const fail = () => new SyntaxError(`invalid JSON at offset ${pos}`);

  // The next token as [match, punctuation, string, number, literal].
  function next() {
    TOKEN.lastIndex = pos;
    const token = TOKEN.exec(text);
    if (token === null) throw fail();
    pos = TOKEN.lastIndex;
    return token;
  }

  function value([, punct, string, number, literal], depth) {
    if (string !== undefined) return decodeString(string);
    if (number !== undefined) return decodeNumber(number);
    if (literal !== undefined) return literal === 'null' ? null : literal === 'true';
    if (punct !== '[' && punct !== '{') throw fail();
    if (depth === MAX_DEPTH) throw fail();
    return punct === '[' ? array(depth + 1) : object(depth + 1);
  }

  function array(depth) {
    const items = [];
    let token = next();
    if (token[1] === ']') return items;
    for (;;) {
      items.push(value(token, depth));
      token = next();
      if (token[1] === ']') return items;
      if (token[1] !== ',') throw fail();
      token = next();
    }
  }

  function object(depth) {
    const members = Object.create(null);
    let token = next();
    if (token[1] === '}') return members;
    for (;;) {
      if (token[2] === undefined) throw fail();
      const key = decodeString(token[2]);
      if (next()[1] !== ':') throw fail();
      members[key] = value(next(), depth); // a repeated key keeps its last value, as in serde_json
      token = next();
      if (token[1] === '}') return members;
      if (token[1] !== ',') throw fail();
      token = next();
    }
  }

  const result = value(next(), 0);
  if (!WHITESPACE.test(text.slice(pos))) throw fail();
  return result;
}

/** A string token's value (the token is valid JSON, so JSON.parse decodes it). */
function decodeString(token) {
  const s = JSON.parse(token);
  if (!s.isWellFormed()) throw new SyntaxError('lone surrogate in string escape');
  return s;
}

/** A number token's value: a BigInt for integer literals, a Number for the rest. */
function decodeNumber(token) {
  if (outOfRange(token)) throw new SyntaxError(`number out of range: ${token}`);
  return /^-?\d+$/.test(token) && token !== '-0' ? BigInt(token) : Number(token);
}

/**
 * Whether serde_json (without its `float_roundtrip` feature) fails with "number out of range".
 * It keeps the leading digits that fit in a u64 as the significand (later integer digits each
 * raise the exponent, later fraction digits are dropped) and computes significand × 10^exponent
 * in f64 arithmetic, failing when that overflows.
 */
function outOfRange(token) {
  const [, int, frac = '', exp = '0'] = /^-?(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(token);
  let significand = 0n;
  let exponent = Number(exp);
  let full = false;
  for (const digit of int) {
    const grown = significand * 10n + BigInt(digit);
    if (!full && grown <= U64_MAX) {
      significand = grown;
    } else {
      full = true;
      exponent++;
    }
  }
  for (const digit of frac) {
    const grown = significand * 10n + BigInt(digit);
    if (grown > U64_MAX) break;
    significand = grown;
    exponent--;
  }
  if (significand === 0n || exponent < 0) return false;
  return exponent > 308 || Number(significand) * Number(`1e${exponent}`) === Infinity;
}
