//! `shop`: a Telegram Stars shop on the Rust SDK — the Mini App half and the bot half in one
//! component.
//!
//! Over the Mini App's WebSocket:
//! - `BuyRequest {"item": "sword"}` → `createInvoiceLink` (currency `XTR`) →
//!   `BuyResponse {"item", "link"}`; the page opens it with `Telegram.WebApp.openInvoice`.
//! - `PurchasesRequest {}` → `PurchasesResponse {"purchases": [...]}` of the calling user.
//! - `RefundRequest {"charge_id": "..."}` → `refundStarPayment` → `RefundResponse`.
//!
//! As bot updates (the server receives them by webhook or polling):
//! - `telegram.pre_checkout_query` → `answerPreCheckoutQuery`, `ok` only for a known item at
//!   its price in Stars.
//! - `telegram.successful_payment` → the purchase is recorded under its
//!   `telegram_payment_charge_id` with a compare-and-swap, so a payment replayed any number of
//!   times is recorded once, and only then `PurchaseConfirmed` is pushed to the buyer's open
//!   connections.
//! - `telegram.message` `/start` → a greeting from the bot.
//!
//! The bot token never enters this component: the host makes each Bot API call as the
//! tenant's bot.

use extws_sdk::{Error, Model, User, kv, push, telegram};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// What the shop sells, in Stars.
const CATALOGUE: &[(&str, &str, i64)] = &[
    ("sword", "A sharp sword", 50),
    ("shield", "A sturdy shield", 30),
];

fn price(item: &str) -> Option<(&'static str, i64)> {
    CATALOGUE
        .iter()
        .find(|(name, _, _)| *name == item)
        .map(|(_, title, stars)| (*title, *stars))
}

fn signed_in(user: Option<User>) -> Result<User, Error> {
    user.ok_or_else(|| Error::new("the shop needs a signed-in user"))
}

/// The invoice payload: what was bought, by whom.
#[derive(Serialize, Deserialize)]
struct Payload {
    item: String,
    user: i64,
}

/// A recorded purchase, under `purchase:<charge id>`.
#[derive(Serialize, Deserialize, Clone, Model)]
struct Purchase {
    charge_id: String,
    item: String,
    user: i64,
    stars: i64,
    refunded: bool,
}

#[derive(Deserialize, Model)]
struct BuyRequest {
    item: String,
}

#[derive(Serialize, Model)]
struct BuyResponse {
    item: String,
    link: String,
}

fn buy(req: BuyRequest, user: Option<User>) -> Result<BuyResponse, Error> {
    let user = signed_in(user)?;
    let (title, stars) = price(&req.item).ok_or_else(|| format!("no such item: {}", req.item))?;
    let payload = serde_json::to_string(&Payload {
        item: req.item.clone(),
        user: user.id,
    })?;
    let link: String = telegram::call(
        "createInvoiceLink",
        &json!({
            "title": title,
            "description": format!("{title} for your adventures"),
            "payload": payload,
            "currency": "XTR",
            "prices": [{"label": title, "amount": stars}],
        }),
    )?;
    Ok(BuyResponse {
        item: req.item,
        link,
    })
}

#[derive(Deserialize, Model)]
#[extws(type = "telegram.pre_checkout_query")]
struct PreCheckoutQuery {
    id: String,
    currency: String,
    total_amount: i64,
    invoice_payload: String,
}

#[derive(Serialize, Model)]
struct PreCheckoutAnswered {
    ok: bool,
}

fn pre_checkout(query: PreCheckoutQuery) -> Result<PreCheckoutAnswered, Error> {
    let payload = serde_json::from_str::<Payload>(&query.invoice_payload).ok();
    let known = payload.and_then(|p| price(&p.item));
    let ok = query.currency == "XTR" && known.is_some_and(|(_, stars)| stars == query.total_amount);
    let mut answer = json!({ "pre_checkout_query_id": query.id, "ok": ok });
    if !ok {
        answer["error_message"] = "This item is no longer sold at this price.".into();
    }
    telegram::call::<Value>("answerPreCheckoutQuery", &answer)?;
    Ok(PreCheckoutAnswered { ok })
}

#[derive(Deserialize, Model)]
struct Payment {
    total_amount: i64,
    invoice_payload: String,
    telegram_payment_charge_id: String,
}

/// The message that carries `successful_payment`.
#[derive(Deserialize, Model)]
#[extws(type = "telegram.successful_payment")]
struct PaymentMessage {
    successful_payment: Payment,
}

#[derive(Serialize, Model)]
struct PurchaseConfirmed {
    item: String,
    charge_id: String,
}

#[derive(Serialize, Model)]
struct PurchaseRecorded {
    new: bool,
}

fn successful_payment(m: PaymentMessage, user: Option<User>) -> Result<PurchaseRecorded, Error> {
    let payment = m.successful_payment;
    let payload: Payload = serde_json::from_str(&payment.invoice_payload)?;
    let purchase = Purchase {
        charge_id: payment.telegram_payment_charge_id,
        item: payload.item,
        user: signed_in(user)?.id,
        stars: payment.total_amount,
        refunded: false,
    };
    // Recorded only if this charge was never recorded: a replayed payment changes nothing.
    let key = format!("purchase:{}", purchase.charge_id);
    let new = kv::compare_and_swap(&key, None, &purchase)?;
    if new {
        let confirmed = PurchaseConfirmed {
            item: purchase.item,
            charge_id: purchase.charge_id,
        };
        push::to_user(purchase.user, &confirmed)?;
    }
    Ok(PurchaseRecorded { new })
}

/// The caller's purchases, each with its stored bytes (for a compare-and-swap).
fn purchases_of(user: i64) -> Result<Vec<(Vec<u8>, Purchase)>, Error> {
    let mut out = Vec::new();
    for key in kv::list_keys("purchase:", 1000)? {
        if let Some(raw) = kv::get_raw(&key)?
            && let Ok(p) = serde_json::from_slice::<Purchase>(&raw)
            && p.user == user
        {
            out.push((raw, p));
        }
    }
    Ok(out)
}

#[derive(Deserialize, Model)]
struct PurchasesRequest {}

#[derive(Serialize, Model)]
struct PurchasesResponse {
    purchases: Vec<Purchase>,
}

fn purchases(_: PurchasesRequest, user: Option<User>) -> Result<PurchasesResponse, Error> {
    let list = purchases_of(signed_in(user)?.id)?;
    Ok(PurchasesResponse {
        purchases: list.into_iter().map(|(_, p)| p).collect(),
    })
}

#[derive(Deserialize, Model)]
struct RefundRequest {
    charge_id: String,
}

#[derive(Serialize, Model)]
struct RefundResponse {
    charge_id: String,
    refunded: bool,
}

fn refund(req: RefundRequest, user: Option<User>) -> Result<RefundResponse, Error> {
    let user = signed_in(user)?;
    let (raw, mut purchase) = purchases_of(user.id)?
        .into_iter()
        .find(|(_, p)| p.charge_id == req.charge_id)
        .ok_or("no such purchase of yours")?;
    if purchase.refunded {
        return Err("already refunded".into());
    }
    let params = json!({ "user_id": user.id, "telegram_payment_charge_id": purchase.charge_id });
    telegram::call::<Value>("refundStarPayment", &params)?;
    purchase.refunded = true;
    kv::compare_and_swap(
        &format!("purchase:{}", purchase.charge_id),
        Some(&raw),
        &purchase,
    )?;
    Ok(RefundResponse {
        charge_id: purchase.charge_id,
        refunded: true,
    })
}

#[derive(Deserialize, Model)]
struct Chat {
    id: i64,
}

#[derive(Deserialize, Model)]
#[extws(type = "telegram.message")]
struct Message {
    chat: Chat,
    text: Option<String>,
}

#[derive(Serialize, Model)]
struct Greeted {
    greeted: bool,
}

fn start(message: Message) -> Result<Greeted, Error> {
    if !message.text.is_some_and(|t| t.starts_with("/start")) {
        return Ok(Greeted { greeted: false });
    }
    let text = "Welcome to the shop! Open it with the button below the chat.";
    telegram::call::<Value>(
        "sendMessage",
        &json!({ "chat_id": message.chat.id, "text": text }),
    )?;
    Ok(Greeted { greeted: true })
}

extws_sdk::export! {
    handlers: [buy, purchases, refund, pre_checkout, successful_payment, start],
    pushes: [PurchaseConfirmed],
}
