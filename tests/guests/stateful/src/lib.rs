//! Test guest `stateful`: counts calls in instance memory, to show what each lifecycle keeps.
wit_bindgen::generate!({ world: "handler", path: "../../../wit" });
use std::sync::atomic::{AtomicU64, Ordering};
struct G;
static CALLS: AtomicU64 = AtomicU64::new(0);
impl Guest for G {
    fn message_types() -> Vec<String> {
        vec!["Count".into()]
    }
    fn handle(_: String, _: String, _: Option<User>) -> Result<Response, HandlerError> {
        let n = CALLS.fetch_add(1, Ordering::Relaxed) + 1;
        Ok(Response {
            msg_type: "CountResponse".into(),
            data: n.to_string(),
        })
    }
}
export!(G);
