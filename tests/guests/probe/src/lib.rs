//! Test guest `probe`: reports what files, environment and network it can reach (`Probe`), and
//! where a call came from (`Origin`, `telegram.message`: `session.origin()`, also kept in kv
//! as `last-origin` for `LastOrigin`).
wit_bindgen::generate!({ world: "handler", path: "../../../wit" });
use extws::handler::{kv, session};
struct G;

/// `{"origin":"client"}`, `{"origin":"update","update_id":N}`, ...
fn origin() -> String {
    match session::origin() {
        session::CallOrigin::Client => r#"{"origin":"client"}"#.into(),
        session::CallOrigin::Update(id) => format!(r#"{{"origin":"update","update_id":{id}}}"#),
        session::CallOrigin::Schedule => r#"{"origin":"schedule"}"#.into(),
        session::CallOrigin::Cli => r#"{"origin":"cli"}"#.into(),
    }
}

fn q(s: &str) -> String {
    format!("{s:?}")
}
impl Guest for G {
    fn message_types() -> Vec<String> {
        ["Probe", "Origin", "LastOrigin", "telegram.message"]
            .map(String::from)
            .to_vec()
    }
    fn handle(msg_type: String, _: String, _: Option<User>) -> Result<Response, HandlerError> {
        let reply = |data: String| {
            Ok(Response {
                msg_type: "OriginResponse".into(),
                data,
            })
        };
        match msg_type.as_str() {
            "Origin" | "telegram.message" => {
                let origin = origin();
                let _ = kv::set("last-origin", origin.as_bytes(), None);
                return reply(origin);
            }
            "LastOrigin" => {
                let last = kv::get("last-origin").ok().flatten().unwrap_or_default();
                return reply(String::from_utf8(last).unwrap_or_default());
            }
            _ => {}
        }
        let env: Vec<String> = std::env::vars()
            .map(|(k, v)| format!("{}:{}", q(&k), q(&v)))
            .collect();
        let mut files = Vec::new();
        for dir in ["/", ".", "/etc", "/data"] {
            if let Ok(entries) = std::fs::read_dir(dir) {
                for e in entries.flatten() {
                    files.push(q(&format!("{dir}/{}", e.file_name().to_string_lossy())));
                }
            }
        }
        let secret = std::fs::read_to_string("/etc/passwd").is_ok();
        let data_file = std::fs::read_to_string("/data/hello.txt").ok();
        let write_ok = std::fs::write("/data/written.txt", b"x").is_ok();
        let net = std::net::TcpStream::connect("127.0.0.1:1").map_err(|e| e.kind().to_string());
        let net = match net {
            Ok(_) => "connected".to_string(),
            Err(e) => e,
        };
        let data = format!(
            r#"{{"env":{{{}}},"files":[{}],"etc_passwd":{secret},"data_file":{},"write_ok":{write_ok},"net":{}}}"#,
            env.join(","),
            files.join(","),
            data_file.map_or("null".into(), |s| q(&s)),
            q(&net)
        );
        Ok(Response {
            msg_type: "ProbeResponse".into(),
            data,
        })
    }
}
export!(G);
