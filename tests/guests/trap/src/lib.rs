//! Test guest `trap`: panics or executes `unreachable` on request.
wit_bindgen::generate!({ world: "handler", path: "../../../wit" });
struct G;
impl Guest for G {
    fn message_types() -> Vec<String> {
        vec!["Panic".into(), "Unreachable".into()]
    }
    fn handle(t: String, _: String, _: Option<User>) -> Result<Response, HandlerError> {
        if t == "Panic" {
            panic!("the trap guest panics on purpose");
        }
        core::arch::wasm32::unreachable()
    }
}
export!(G);
