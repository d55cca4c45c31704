//! The `session` import (the caller's validated initData and tenant), and the conversions of
//! the authenticated identity into WIT records.

use super::{Always, Ctx};
use crate::auth::{InitDataContext, TelegramUser};
use crate::origin::Origin;
use crate::wit::extws::handler::{session, types};

impl session::Host for Ctx<'_, Always> {
    fn init_data(&mut self) -> Option<types::InitDataInfo> {
        self.caller.init_data.as_deref().map(to_wit_init_data)
    }

    fn tenant(&mut self) -> String {
        self.caller.tenant.to_string()
    }

    fn origin(&mut self) -> session::CallOrigin {
        match self.caller.origin {
            Origin::Client => session::CallOrigin::Client,
            Origin::Update { update_id } => session::CallOrigin::Update(update_id),
            Origin::Schedule => session::CallOrigin::Schedule,
            Origin::Cli => session::CallOrigin::Cli,
        }
    }
}

/// The WIT `user` record for a Telegram user.
pub fn to_wit_user(u: &TelegramUser) -> types::User {
    types::User {
        id: u.id,
        is_bot: u.is_bot,
        first_name: u.first_name.clone(),
        last_name: u.last_name.clone(),
        username: u.username.clone(),
        language_code: u.language_code.clone(),
        is_premium: u.is_premium,
        added_to_attachment_menu: u.added_to_attachment_menu,
        allows_write_to_pm: u.allows_write_to_pm,
        photo_url: u.photo_url.clone(),
    }
}

/// The WIT `init-data-info` record for a validated initData.
pub fn to_wit_init_data(c: &InitDataContext) -> types::InitDataInfo {
    types::InitDataInfo {
        auth_date: c.auth_date,
        query_id: c.query_id.clone(),
        chat_type: c.chat_type.clone(),
        chat_instance: c.chat_instance.clone(),
        start_param: c.start_param.clone(),
        can_send_after: c.can_send_after,
        chat: c.chat.as_ref().map(|ch| types::Chat {
            id: ch.id,
            chat_type: ch.chat_type.clone(),
            title: ch.title.clone(),
            username: ch.username.clone(),
            photo_url: ch.photo_url.clone(),
        }),
        receiver: c.receiver.as_ref().map(to_wit_user),
    }
}
