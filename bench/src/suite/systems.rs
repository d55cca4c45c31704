//! The systems under test: the native baseline, the predecessor and node when they are
//! there, and extws-wasm per guest language and lifecycle (each with its generated config),
//! narrowed to `--only`.

use anyhow::bail;

use super::{LANGUAGES, LIFECYCLES};
use crate::ctx::{BOT_TOKEN, Ctx, Mode, System, extws_config};
use crate::records::SystemInfo;
use crate::servers::ServerCmd;

impl Ctx<'_> {
    pub(super) fn systems(&self, notes: &mut Vec<String>) -> anyhow::Result<Vec<System>> {
        let mut out = Vec::new();
        if !self.args.native.is_file() {
            bail!(
                "{} is missing: cargo build --release -p extws-bench",
                self.args.native.display()
            );
        }
        if !self.args.extws.is_file() {
            bail!(
                "{} is missing: cargo build --release -p extws-wasm",
                self.args.extws.display()
            );
        }
        out.push(System {
            info: SystemInfo {
                name: "native".into(),
                kind: "native".into(),
                ..Default::default()
            },
            cmd: ServerCmd {
                program: self.args.native.clone(),
                args: vec!["--bot-token".into(), BOT_TOKEN.into()],
                env: vec![],
                cpus: None,
            },
        });
        match &self.args.python {
            Some(python) if python.is_file() && self.args.predecessor.is_file() => {
                out.push(System {
                    info: SystemInfo {
                        name: "predecessor".into(),
                        kind: "predecessor".into(),
                        ..Default::default()
                    },
                    cmd: ServerCmd {
                        program: python.clone(),
                        args: vec![
                            self.args.predecessor.display().to_string(),
                            "--bot-token".into(),
                            BOT_TOKEN.into(),
                        ],
                        env: vec![],
                        cpus: None,
                    },
                })
            }
            _ => notes.push(
                "predecessor skipped: no Python venv with websockets and pydantic (bench/run.sh \
                 makes one)"
                    .into(),
            ),
        }
        match (&self.args.node, &self.args.node_server) {
            (Some(node), Some(script)) if script.is_file() => out.push(System {
                info: SystemInfo {
                    name: "node".into(),
                    kind: "node".into(),
                    ..Default::default()
                },
                cmd: ServerCmd {
                    program: node.clone(),
                    args: vec![
                        script.display().to_string(),
                        "--bot-token".into(),
                        BOT_TOKEN.into(),
                    ],
                    env: vec![],
                    cpus: None,
                },
            }),
            _ => notes.push(
                "node skipped: no Node.js or no bench/node installed with `ws` (bench/run.sh \
                 installs it)"
                    .into(),
            ),
        }
        for lang in LANGUAGES {
            let Some(component) = self.component(lang) else {
                notes.push(format!(
                    "calc-{lang}.wasm not built: extws {lang} skipped (make guests)"
                ));
                continue;
            };
            let bytes = std::fs::metadata(&component).map(|m| m.len()).ok();
            for lifecycle in LIFECYCLES {
                let wanted =
                    lang == "rust" || self.args.mode == Mode::Full || lifecycle == "pooled";
                if !wanted {
                    continue;
                }
                let config = self.write_config(
                    &format!("{lang}-{lifecycle}"),
                    &extws_config(&component, lifecycle, 1000),
                )?;
                out.push(System {
                    info: SystemInfo {
                        name: format!("extws {lang}/{lifecycle}"),
                        kind: "extws-wasm".into(),
                        language: Some(lang.into()),
                        lifecycle: Some(lifecycle.into()),
                        component_bytes: bytes,
                    },
                    cmd: self.extws_cmd(&config, None),
                });
            }
        }
        if !self.args.only.is_empty() {
            out.retain(|s| {
                self.args
                    .only
                    .iter()
                    .any(|o| s.info.name.contains(o.as_str()))
            });
        }
        Ok(out)
    }
}
