//! Test guest `misbehave`: bad replies, close requests, echo, logging, leaked host handles.
wit_bindgen::generate!({ world: "handler", path: "../../../wit" });
use extws::handler::{log, session};
struct G;
impl Guest for G {
    fn message_types() -> Vec<String> {
        [
            "NotJson",
            "CloseMe",
            "Echo",
            "Log",
            "Session",
            "LeakHandles",
        ]
        .map(String::from)
        .to_vec()
    }
    fn handle(t: String, data: String, _: Option<User>) -> Result<Response, HandlerError> {
        let reply = |data: String| {
            Ok(Response {
                msg_type: format!("{t}Response"),
                data,
            })
        };
        match t.as_str() {
            "NotJson" => reply("this is {not json".into()),
            // Creates WASI pollables and never drops them, until the host says no.
            "LeakHandles" => loop {
                let pollable = wasip2::clocks::monotonic_clock::subscribe_duration(1_000_000_000);
                std::mem::forget(pollable);
            },
            // Data: the close code to ask for, or null for none.
            "CloseMe" => Err(HandlerError {
                message: "closing on request".into(),
                close_connection: true,
                close_code: data.trim().parse().ok(),
            }),
            "Log" => {
                log::log(log::Level::Info, &format!("guest log: {data}"));
                println!("guest stdout: {data}");
                eprintln!("guest stderr: {data}");
                reply("null".into())
            }
            "Session" => {
                let init = session::init_data();
                let auth_date = init.as_ref().and_then(|i| i.auth_date);
                let start = init.and_then(|i| i.start_param);
                let start = start.map_or("null".to_string(), |s| format!("{s:?}"));
                let auth_date = auth_date.map_or("null".to_string(), |d| d.to_string());
                reply(format!(
                    r#"{{"tenant":{:?},"auth_date":{auth_date},"start_param":{start}}}"#,
                    session::tenant()
                ))
            }
            _ => reply(data),
        }
    }
}
export!(G);
