//! Test guest `loop-forever`: never returns.
wit_bindgen::generate!({ world: "handler", path: "../../../wit" });
struct G;
impl Guest for G {
    fn message_types() -> Vec<String> {
        vec!["LoopForever".into()]
    }
    fn handle(_: String, _: String, _: Option<User>) -> Result<Response, HandlerError> {
        let mut x: u64 = 0;
        loop {
            x = core::hint::black_box(x.wrapping_add(1));
        }
    }
}
export!(G);
