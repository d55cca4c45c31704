//! Test guest `slow`: busy-waits for the number of milliseconds in Data, then answers.
wit_bindgen::generate!({ world: "handler", path: "../../../wit" });
struct G;
impl Guest for G {
    fn message_types() -> Vec<String> {
        vec!["Slow".into()]
    }
    fn handle(_: String, data: String, _: Option<User>) -> Result<Response, HandlerError> {
        let ms: u64 = data.trim().parse().unwrap_or(100);
        let start = std::time::Instant::now();
        while start.elapsed().as_millis() < ms as u128 {
            core::hint::spin_loop();
        }
        Ok(Response {
            msg_type: "SlowResponse".into(),
            data: ms.to_string(),
        })
    }
}
export!(G);
