//! Test guest `probe`: reports what files, environment and network it can reach.
wit_bindgen::generate!({ world: "handler", path: "../../../wit" });
struct G;
fn q(s: &str) -> String {
    format!("{s:?}")
}
impl Guest for G {
    fn message_types() -> Vec<String> {
        vec!["Probe".into()]
    }
    fn handle(_: String, _: String, _: Option<User>) -> Result<Response, HandlerError> {
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
