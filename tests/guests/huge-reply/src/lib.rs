//! Test guest `huge-reply`: `HugeReply` replies with a JSON string of the requested size in
//! bytes; `HugeType` replies with a `msg-type` of that size and `null` data.
wit_bindgen::generate!({ world: "handler", path: "../../../wit" });
struct G;
impl Guest for G {
    fn message_types() -> Vec<String> {
        vec!["HugeReply".into(), "HugeType".into()]
    }
    fn handle(t: String, data: String, _: Option<User>) -> Result<Response, HandlerError> {
        let size: usize = data.trim().parse().unwrap_or(2 << 20);
        if t == "HugeType" {
            return Ok(Response {
                msg_type: "T".repeat(size),
                data: "null".into(),
            });
        }
        let mut s = String::with_capacity(size + 2);
        s.push('"');
        s.extend(std::iter::repeat_n('x', size.saturating_sub(2)));
        s.push('"');
        Ok(Response {
            msg_type: "HugeReplyResponse".into(),
            data: s,
        })
    }
}
export!(G);
