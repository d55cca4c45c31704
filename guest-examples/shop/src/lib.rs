//! `shop`: a Telegram Stars shop — the Mini App half and the bot half in one component.
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
//! Raw WIT bindings (the SDKs are not there yet): the bot token never enters this component,
//! the host makes each Bot API call as the tenant's bot.

use serde::{Deserialize, Serialize};
use serde_json::json;

wit_bindgen::generate!({ world: "handler", path: "../../wit" });
use extws::handler::{kv, push, telegram};

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

fn fail(message: impl Into<String>) -> HandlerError {
    HandlerError {
        message: message.into(),
        close_connection: false,
        close_code: None,
    }
}

fn bot(method: &str, params: serde_json::Value) -> Result<serde_json::Value, HandlerError> {
    let answer = telegram::call(method, &params.to_string()).map_err(|e| {
        fail(match e {
            telegram::TelegramError::RateLimited(s) => format!("busy: try again in {s} s"),
            telegram::TelegramError::Api(a) => {
                format!("Telegram refused {method}: {}", a.description)
            }
            telegram::TelegramError::Unavailable(m) => format!("Telegram is unreachable: {m}"),
            telegram::TelegramError::Denied(m) | telegram::TelegramError::Invalid(m) => m,
        })
    })?;
    serde_json::from_str(&answer).map_err(|e| fail(format!("odd Bot API answer: {e}")))
}

fn kv_fail(e: kv::KvError) -> HandlerError {
    fail(match e {
        kv::KvError::QuotaExceeded(m) | kv::KvError::Unavailable(m) | kv::KvError::Invalid(m) => {
            format!("store: {m}")
        }
    })
}

fn parse<'a, T: Deserialize<'a>>(what: &str, data: &'a str) -> Result<T, HandlerError> {
    serde_json::from_str(data).map_err(|e| fail(format!("invalid {what}: {e}")))
}

fn reply(msg_type: &str, data: impl Serialize) -> Result<Response, HandlerError> {
    Ok(Response {
        msg_type: msg_type.into(),
        data: serde_json::to_string(&data).expect("serializable"),
    })
}

/// The invoice payload: what was bought, by whom.
#[derive(Serialize, Deserialize)]
struct Payload {
    item: String,
    user: i64,
}

/// A recorded purchase, under `purchase:<charge id>`.
#[derive(Serialize, Deserialize, Clone)]
struct Purchase {
    charge_id: String,
    item: String,
    user: i64,
    stars: i64,
    refunded: bool,
}

fn buy(data: &str, user: &User) -> Result<Response, HandlerError> {
    #[derive(Deserialize)]
    struct BuyRequest {
        item: String,
    }
    let request: BuyRequest = parse("BuyRequest", data)?;
    let (title, stars) =
        price(&request.item).ok_or_else(|| fail(format!("no such item: {}", request.item)))?;
    let payload = Payload {
        item: request.item.clone(),
        user: user.id,
    };
    let link = bot(
        "createInvoiceLink",
        json!({
            "title": title,
            "description": format!("{title} for your adventures"),
            "payload": serde_json::to_string(&payload).expect("serializable"),
            "currency": "XTR",
            "prices": [{"label": title, "amount": stars}],
        }),
    )?;
    reply("BuyResponse", json!({ "item": request.item, "link": link }))
}

fn pre_checkout(data: &str) -> Result<Response, HandlerError> {
    #[derive(Deserialize)]
    struct Query {
        id: String,
        currency: String,
        total_amount: i64,
        invoice_payload: String,
    }
    let query: Query = parse("pre_checkout_query", data)?;
    let payload = serde_json::from_str::<Payload>(&query.invoice_payload).ok();
    let known = payload.as_ref().and_then(|p| price(&p.item));
    let ok = query.currency == "XTR" && known.is_some_and(|(_, stars)| stars == query.total_amount);
    let mut answer = json!({ "pre_checkout_query_id": query.id, "ok": ok });
    if !ok {
        answer["error_message"] = "This item is no longer sold at this price.".into();
    }
    bot("answerPreCheckoutQuery", answer)?;
    reply("PreCheckoutAnswered", json!({ "ok": ok }))
}

fn successful_payment(data: &str) -> Result<Response, HandlerError> {
    #[derive(Deserialize)]
    struct Message {
        from: Sender,
        successful_payment: Payment,
    }
    #[derive(Deserialize)]
    struct Sender {
        id: i64,
    }
    #[derive(Deserialize)]
    struct Payment {
        total_amount: i64,
        invoice_payload: String,
        telegram_payment_charge_id: String,
    }
    let message: Message = parse("successful_payment message", data)?;
    let payment = message.successful_payment;
    let payload: Payload = parse("invoice payload", &payment.invoice_payload)?;
    let purchase = Purchase {
        charge_id: payment.telegram_payment_charge_id.clone(),
        item: payload.item,
        user: message.from.id,
        stars: payment.total_amount,
        refunded: false,
    };
    let key = format!("purchase:{}", purchase.charge_id);
    let value = serde_json::to_vec(&purchase).expect("serializable");
    // Recorded only if this charge was never recorded: a replayed payment changes nothing.
    let first = kv::compare_and_swap(&key, None, &value).map_err(kv_fail)?;
    if first {
        let confirmed = json!({ "item": purchase.item, "charge_id": purchase.charge_id });
        push::send_to_user(purchase.user, "PurchaseConfirmed", &confirmed.to_string())
            .map_err(|e| fail(format!("push: {e:?}")))?;
    }
    reply("PurchaseRecorded", json!({ "new": first }))
}

fn purchases_of(user: i64) -> Result<Vec<(Vec<u8>, Purchase)>, HandlerError> {
    let mut out = Vec::new();
    for key in kv::list_keys("purchase:", 1000).map_err(kv_fail)? {
        if let Some(raw) = kv::get(&key).map_err(kv_fail)?
            && let Ok(p) = serde_json::from_slice::<Purchase>(&raw)
            && p.user == user
        {
            out.push((raw, p));
        }
    }
    Ok(out)
}

fn refund(data: &str, user: &User) -> Result<Response, HandlerError> {
    #[derive(Deserialize)]
    struct RefundRequest {
        charge_id: String,
    }
    let request: RefundRequest = parse("RefundRequest", data)?;
    let (raw, mut purchase) = purchases_of(user.id)?
        .into_iter()
        .find(|(_, p)| p.charge_id == request.charge_id)
        .ok_or_else(|| fail("no such purchase of yours"))?;
    if purchase.refunded {
        return Err(fail("already refunded"));
    }
    bot(
        "refundStarPayment",
        json!({ "user_id": user.id, "telegram_payment_charge_id": purchase.charge_id }),
    )?;
    purchase.refunded = true;
    let key = format!("purchase:{}", purchase.charge_id);
    let new = serde_json::to_vec(&purchase).expect("serializable");
    kv::compare_and_swap(&key, Some(&raw), &new).map_err(kv_fail)?;
    reply(
        "RefundResponse",
        json!({ "charge_id": purchase.charge_id, "refunded": true }),
    )
}

fn start(data: &str) -> Result<Response, HandlerError> {
    #[derive(Deserialize)]
    struct Message {
        chat: Chat,
        text: Option<String>,
    }
    #[derive(Deserialize)]
    struct Chat {
        id: i64,
    }
    let message: Message = parse("message", data)?;
    if !message.text.is_some_and(|t| t.starts_with("/start")) {
        return reply("Ignored", json!({}));
    }
    let text = "Welcome to the shop! Open it with the button below the chat.";
    bot(
        "sendMessage",
        json!({ "chat_id": message.chat.id, "text": text }),
    )?;
    reply("Greeted", json!({}))
}

struct Shop;

impl Guest for Shop {
    fn message_types() -> Vec<String> {
        [
            "BuyRequest",
            "PurchasesRequest",
            "RefundRequest",
            "telegram.pre_checkout_query",
            "telegram.successful_payment",
            "telegram.message",
        ]
        .map(String::from)
        .to_vec()
    }

    fn handle(t: String, data: String, user: Option<User>) -> Result<Response, HandlerError> {
        let signed_in = || {
            user.as_ref()
                .ok_or_else(|| fail(format!("{t} needs a signed-in user")))
        };
        match t.as_str() {
            "BuyRequest" => buy(&data, signed_in()?),
            "PurchasesRequest" => {
                let list: Vec<Purchase> = purchases_of(signed_in()?.id)?
                    .into_iter()
                    .map(|(_, p)| p)
                    .collect();
                reply("PurchasesResponse", json!({ "purchases": list }))
            }
            "RefundRequest" => refund(&data, signed_in()?),
            "telegram.pre_checkout_query" => pre_checkout(&data),
            "telegram.successful_payment" => successful_payment(&data),
            "telegram.message" => start(&data),
            other => Err(fail(format!("unknown type {other}"))),
        }
    }
}

export!(Shop);
