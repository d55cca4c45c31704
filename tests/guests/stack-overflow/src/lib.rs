//! Test guest `stack-overflow`: unbounded recursion on the WebAssembly call stack.
wit_bindgen::generate!({ world: "handler", path: "../../../wit" });
struct G;

/// Not tail-recursive and with no locals in linear memory, so each call takes a frame of the
/// engine's native wasm stack until the engine refuses.
#[inline(never)]
fn deeper(n: u64) -> u64 {
    if n == 0 {
        return 1;
    }
    let below = deeper(n - 1);
    below.rotate_left((n % 63) as u32) ^ n
}

impl Guest for G {
    fn message_types() -> Vec<String> {
        vec!["StackOverflow".into()]
    }
    fn handle(_: String, data: String, _: Option<User>) -> Result<Response, HandlerError> {
        let depth: u64 = data.trim().parse().unwrap_or(u64::MAX);
        let n = deeper(depth);
        Ok(Response {
            msg_type: "StackOverflowResponse".into(),
            data: n.to_string(),
        })
    }
}
export!(G);
