//! Test guest `memory-hog`: grows memory 1 MiB at a time until refused.
wit_bindgen::generate!({ world: "handler", path: "../../../wit" });
struct G;
impl Guest for G {
    fn message_types() -> Vec<String> {
        vec!["MemoryHog".into()]
    }
    fn handle(_: String, _: String, _: Option<User>) -> Result<Response, HandlerError> {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            // Touch every page so the memory is really used.
            hoard.push(core::hint::black_box(vec![1u8; 1 << 20]));
        }
    }
}
export!(G);
