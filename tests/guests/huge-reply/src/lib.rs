//! Test guest `huge-reply`: replies with a JSON string of the requested size in bytes.
wit_bindgen::generate!({ world: "handler", path: "../../../wit" });
struct G;
impl Guest for G {
    fn message_types() -> Vec<String> {
        vec!["HugeReply".into()]
    }
    fn handle(_: String, data: String, _: Option<User>) -> Result<Response, HandlerError> {
        let size: usize = data.trim().parse().unwrap_or(2 << 20);
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
