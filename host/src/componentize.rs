//! `extws-wasm componentize`: a WASI preview1 core module (Go, TinyGo, C) plus the handler
//! world becomes a component, using the preview1 reactor adapter built into this binary — so
//! guest authors need no extra tool.

use anyhow::{Context as _, bail};
use wasi_preview1_component_adapter_provider::{
    WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
};
use wit_component::{ComponentEncoder, StringEncoding, embed_component_metadata};
use wit_parser::Resolve;

use crate::cli::ComponentizeArgs;

/// Reads the module, embeds the world from `--wit` when given, adapts and writes the component.
pub fn run(args: &ComponentizeArgs) -> anyhow::Result<()> {
    let mut module = std::fs::read(&args.module)
        .with_context(|| format!("reading {}", args.module.display()))?;
    if wasmparser::Parser::is_component(&module) {
        bail!("{} is already a component", args.module.display());
    }
    if !wasmparser::Parser::is_core_wasm(&module) {
        bail!("{} is not a WebAssembly core module", args.module.display());
    }
    if let Some(wit) = &args.wit {
        let mut resolve = Resolve::default();
        let (package, _) = resolve
            .push_dir(wit)
            .with_context(|| format!("reading WIT from {}", wit.display()))?;
        let world = resolve
            .select_world(&[package], Some(&args.world))
            .with_context(|| format!("finding world {:?}", args.world))?;
        embed_component_metadata(&mut module, &resolve, world, StringEncoding::UTF8)
            .context("embedding the world")?;
    }
    let component = ComponentEncoder::default()
        .validate(true)
        .module(&module)
        .context("reading component metadata (pass --wit wit/ if the module has none)")?
        .adapter(
            WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME,
            WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
        )
        .context("loading the WASI preview1 reactor adapter")?
        .encode()
        .context("building the component")?;
    std::fs::write(&args.output, &component)
        .with_context(|| format!("writing {}", args.output.display()))?;
    eprintln!(
        "wrote {} ({} bytes)",
        args.output.display(),
        component.len()
    );
    Ok(())
}
