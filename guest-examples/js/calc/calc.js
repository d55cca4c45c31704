//! The calc example on extws-sdk (contract: guest-examples/CONFORMANCE.md): sums 64-bit
//! integers exactly and tells the caller who they are.

import { HandlerError, handle, t } from 'extws-sdk';

const CalculateRequest = t.model('CalculateRequest', { numbers: t.array(t.int64()) });
const CalculateResponse = t.model('CalculateResponse', { result: t.int64() });
const WhoAmIRequest = t.model('WhoAmIRequest', {});
const WhoAmIResponse = t.model('WhoAmIResponse', { user: t.nullable(t.user()) });

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;

handle(CalculateRequest, CalculateResponse, ({ numbers }) => {
  let result = 0n; // int64 fields are BigInts: exact, and the overflow check is ours
  for (const n of numbers) {
    result += n;
    if (result < I64_MIN || result > I64_MAX) {
      throw new HandlerError('overflow: the sum does not fit in a signed 64-bit integer');
    }
  }
  return { result };
});

handle(WhoAmIRequest, WhoAmIResponse, (_request, user) => ({ user }));
