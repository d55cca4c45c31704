//! The calc example handler in JavaScript: sums numbers and tells the caller who they are.
//!
//! Its exact behaviour is the contract in `guest-examples/CONFORMANCE.md`, shared by the same
//! example in every guest language. ComponentizeJS turns this module into a component of the
//! WIT world `extws:handler/handler`: the world's exports are this module's exports in
//! camelCase, records are plain objects, `option<T>` is `T | undefined`, `s64` is a BigInt, and
//! a `result` is returned when ok and thrown when it is an error.

import { parseJson } from './strict-json.js';

const INVALID = 'invalid CalculateRequest: expected {"numbers": [integers]}';
const OVERFLOW = 'overflow: the sum does not fit in a signed 64-bit integer';
const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;

export function messageTypes() {
  return ['CalculateRequest', 'WhoAmIRequest'];
}

export function handle(msgType, data, user) {
  switch (msgType) {
    case 'CalculateRequest':
      return calculate(data);
    case 'WhoAmIRequest':
      return whoAmI(user);
    default:
      throw handlerError(`calc does not handle ${msgType}`);
  }
}

function calculate(data) {
  const numbers = parseNumbers(data);
  if (numbers === undefined) throw handlerError(INVALID);
  let sum = 0n;
  for (const n of numbers) {
    sum += n;
    if (sum < I64_MIN || sum > I64_MAX) throw handlerError(OVERFLOW);
  }
  return { msgType: 'CalculateResponse', data: `{"result":${sum}}` };
}

/** `{"numbers": [i64, ...]}` as an array of BigInts, or undefined when `data` has another shape. */
function parseNumbers(data) {
  let value;
  try {
    value = parseJson(data);
  } catch (e) {
    if (e instanceof SyntaxError) return undefined;
    throw e;
  }
  const numbers = isObject(value) ? value.numbers : undefined;
  if (!Array.isArray(numbers) || !numbers.every(isI64)) return undefined;
  return numbers;
}

const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
const isI64 = (n) => typeof n === 'bigint' && n >= I64_MIN && n <= I64_MAX;

function whoAmI(user) {
  // Telegram's WebAppUser names in the contract's order; JSON.stringify leaves out the
  // undefined (absent) fields and escapes strings exactly as the contract says. The id is a
  // BigInt, which JSON.stringify refuses, so it goes in as raw JSON text.
  const json = user && {
    id: JSON.rawJSON(String(user.id)),
    is_bot: user.isBot,
    first_name: user.firstName,
    last_name: user.lastName,
    username: user.username,
    language_code: user.languageCode,
    is_premium: user.isPremium,
    added_to_attachment_menu: user.addedToAttachmentMenu,
    allows_write_to_pm: user.allowsWriteToPm,
    photo_url: user.photoUrl,
  };
  return { msgType: 'WhoAmIResponse', data: JSON.stringify({ user: json ?? null }) };
}

function handlerError(message) {
  return { message, closeConnection: false, closeCode: undefined };
}
