//! Test guest `slow`: `Slow` busy-waits for the number of milliseconds in Data; `Sleep` sleeps
//! that long inside a host call (a WASI monotonic-clock pollable), so no guest code runs while
//! it waits.
wit_bindgen::generate!({ world: "handler", path: "../../../wit" });
struct G;
impl Guest for G {
    fn message_types() -> Vec<String> {
        vec!["Slow".into(), "Sleep".into()]
    }
    fn handle(t: String, data: String, _: Option<User>) -> Result<Response, HandlerError> {
        let ms: u64 = data.trim().parse().unwrap_or(100);
        if t == "Sleep" {
            std::thread::sleep(std::time::Duration::from_millis(ms));
        } else {
            let start = std::time::Instant::now();
            while start.elapsed().as_millis() < ms as u128 {
                core::hint::spin_loop();
            }
        }
        Ok(Response {
            msg_type: format!("{t}Response"),
            data: ms.to_string(),
        })
    }
}
export!(G);
