// The calc example on the SDK, run in Node against the contract (every request and user of
// host/tests/conformance.rs) and its describe JSON.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import '../../../guest-examples/js/calc/calc.js';
import { describe, handle, messageTypes } from '../world.js';

const INVALID = 'invalid CalculateRequest: ';
const OVERFLOW = 'overflow: the sum does not fit in a signed 64-bit integer';

function reply(type, data, user) {
  try {
    const { msgType, data: json } = handle(type, data, user);
    return { type: msgType, data: json };
  } catch (e) {
    return { error: e.message, close: e.closeConnection };
  }
}

test('message types in registration order', () => {
  assert.deepEqual(messageTypes(), ['CalculateRequest', 'WhoAmIRequest']);
});

test('sums exactly, and overflow is an error', () => {
  assert.deepEqual(reply('CalculateRequest', '{"numbers":[2,2]}'), { type: 'CalculateResponse', data: '{"result":4}' });
  assert.deepEqual(reply('CalculateRequest', '{"numbers":[]}').data, '{"result":0}');
  assert.equal(reply('CalculateRequest', '{"numbers":[-5,3,9223372036854775807,-9223372036854775807]}').data, '{"result":-2}');
  assert.equal(reply('CalculateRequest', '{"numbers":[9223372036854775807,1]}').error, OVERFLOW);
  assert.equal(reply('CalculateRequest', '{"numbers":[-9223372036854775808,-1]}').error, OVERFLOW);
  assert.equal(reply('CalculateRequest', '{"numbers":[1,2],"extra":{"x":[null]}}').data, '{"result":3}');
  assert.equal(reply('CalculateRequest', '{"numbers":[9007199254740993,0]}').data, '{"result":9007199254740993}');
});

test('bad data names the field', () => {
  const cases = {
    '{"numbers":[1.5]}': 'numbers[0]: expected an integer, got 1.5',
    '{"numbers":["1"]}': 'numbers[0]: expected an integer, got "1"',
    '{"numbers":[true]}': 'numbers[0]: expected an integer, got true',
    '{"numbers":[9223372036854775808]}': 'numbers[0]: expected a 64-bit integer, got 9223372036854775808',
    '{"numbers":[-9223372036854775809]}': 'numbers[0]: expected a 64-bit integer, got -9223372036854775809',
    '{"numbers":[1,1.0]}': 'numbers[1]: expected an integer, got 1',
    '{"numbers":[1e2]}': 'numbers[0]: expected an integer, got 100',
    '{"numbers":[-0]}': 'numbers[0]: expected an integer, got -0',
    '{"numbers":1}': 'numbers: expected an array, got 1',
    '{"other":[1]}': 'missing field numbers',
    '[1,2]': 'expected an object, got [1,2]',
    null: 'missing field numbers',
    '{"numbers":[1],': 'Data is not JSON',
  };
  for (const [data, problem] of Object.entries(cases)) {
    const got = reply('CalculateRequest', data === 'null' ? 'null' : data);
    assert.ok(got.error?.startsWith(INVALID + problem), `${data}: ${JSON.stringify(got)}`);
    assert.equal(got.close, false);
  }
});

const witUser = (u) => ({
  id: BigInt(u.id), isBot: u.is_bot, firstName: u.first_name, lastName: u.last_name,
  username: u.username, languageCode: u.language_code, isPremium: u.is_premium,
  addedToAttachmentMenu: u.added_to_attachment_menu, allowsWriteToPm: u.allows_write_to_pm,
  photoUrl: u.photo_url,
});

test('whoami: Telegram names, absent fields left out, exact ids', () => {
  assert.equal(reply('WhoAmIRequest', '{}').data, '{"user":null}');
  assert.equal(reply('WhoAmIRequest', 'null').data, '{"user":null}');
  const users = [
    [{ id: 1, first_name: 'A' }, '{"id":1,"first_name":"A"}'],
    [{ id: '-9223372036854775808', is_bot: false, first_name: 'Zoë "Q" \\ <b>&amp;</b>\n\t\u0001\u001f\u007f\u2028 😀', added_to_attachment_menu: false },
      '{"id":-9223372036854775808,"is_bot":false,"first_name":"Zoë \\"Q\\" \\\\ <b>&amp;</b>\\n\\t\\u0001\\u001f\u007f\u2028 😀","added_to_attachment_menu":false}'],
    [{ id: '9007199254740993', first_name: 'Big', username: 'big_id' }, '{"id":9007199254740993,"first_name":"Big","username":"big_id"}'],
    [{ id: 279058397, first_name: 'Vladislav', last_name: 'Kibenko', username: 'vdkfrost', language_code: 'ru', is_premium: true, allows_write_to_pm: true, photo_url: 'https://t.me/i/userpic/320/x.svg' },
      '{"id":279058397,"first_name":"Vladislav","last_name":"Kibenko","username":"vdkfrost","language_code":"ru","is_premium":true,"allows_write_to_pm":true,"photo_url":"https://t.me/i/userpic/320/x.svg"}'],
  ];
  for (const [user, json] of users) {
    assert.equal(reply('WhoAmIRequest', '{}', witUser(user)).data, `{"user":${json}}`);
  }
});

test('another Type is an error', () => {
  assert.equal(reply('Nope', '{}').error, 'this component does not handle Nope');
});

test('describe', () => {
  const api = JSON.parse(describe());
  const user = api.types.WhoAmIRequest.reply_schema.properties.user;
  assert.deepEqual(api, {
    types: {
      CalculateRequest: {
        request: { type: 'object', title: 'CalculateRequest', properties: { numbers: { type: 'array', items: { type: 'integer', format: 'int64' } } }, required: ['numbers'] },
        reply: 'CalculateResponse',
        reply_schema: { type: 'object', title: 'CalculateResponse', properties: { result: { type: 'integer', format: 'int64' } }, required: ['result'] },
      },
      WhoAmIRequest: {
        request: { type: 'object', title: 'WhoAmIRequest', properties: {}, required: [] },
        reply: 'WhoAmIResponse',
        reply_schema: { type: 'object', title: 'WhoAmIResponse', properties: { user }, required: ['user'] },
      },
    },
    hooks: [],
  });
  assert.equal(user.anyOf[1].type, 'null');
  assert.equal(user.anyOf[0].title, 'User');
  assert.deepEqual(user.anyOf[0].required, ['id', 'first_name']);
  assert.deepEqual(Object.keys(user.anyOf[0].properties), ['id', 'is_bot', 'first_name', 'last_name', 'username', 'language_code', 'is_premium', 'added_to_attachment_menu', 'allows_write_to_pm', 'photo_url']);
});
