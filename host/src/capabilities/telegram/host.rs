//! The `telegram` import: Bot API calls as the tenant's bot ([`super::BotApi`]), within the
//! call's deadline. Denied when the tenant has no `[tenant.telegram]`.

use std::time::{Duration, Instant};

use super::{BotApi, TelegramError};
use crate::capabilities::Ctx;
use crate::wit::extws::handler::telegram;

fn to_wit(e: TelegramError) -> telegram::TelegramError {
    match e {
        TelegramError::Denied(m) => telegram::TelegramError::Denied(m),
        TelegramError::Api {
            code,
            description,
            retry_after,
        } => telegram::TelegramError::Api(telegram::ApiError {
            code,
            description,
            retry_after,
        }),
        TelegramError::RateLimited(s) => telegram::TelegramError::RateLimited(s),
        TelegramError::Unavailable(m) => telegram::TelegramError::Unavailable(m),
        TelegramError::Invalid(m) => telegram::TelegramError::Invalid(m),
    }
}

impl telegram::Host for Ctx<'_, BotApi> {
    async fn call(
        &mut self,
        method: String,
        params: String,
    ) -> Result<String, telegram::TelegramError> {
        let (api, _) = self.granted(|| {
            let why = "this tenant has no Bot API access ([tenant.telegram] is not configured)";
            telegram::TelegramError::Denied(why.into())
        })?;
        // Outside a call with a deadline (never the case today), a bounded default.
        let deadline = self
            .caller
            .deadline
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(10));
        api.call(&method, &params, deadline).await.map_err(to_wit)
    }
}
