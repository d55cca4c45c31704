//! The WIT `user` record as the SDK's `User`: Telegram's field names, in Telegram's order,
//! absent fields left out, the id a BigInt.

/** `user` of the WIT (camelCase, `undefined` for none) → a `User`, or null. */
export function toUser(user) {
  if (user === undefined || user === null) return null;
  const out = {
    id: user.id,
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
  for (const key of Object.keys(out)) if (out[key] === undefined) delete out[key];
  return out;
}
