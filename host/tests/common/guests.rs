//! Where the tests find things: the repository, the components `make guests` built into
//! `target/guests/`, the `extws-wasm` binary, fresh temporary directories.
//!
//! The Rust guests are always built (`make guest-rust` needs only the wasm32-wasip2 target), so
//! a test that needs one fails, saying how to build it, when it is missing. A guest in another
//! language is built only where its toolchain could be had (`make guests` skips it with exit
//! 77); `host/build.rs` sets `--cfg guest="NAME"` for every `target/guests/NAME.wasm`, and a
//! test that needs such a guest is reported as ignored where it was not built, never passed:
//!
//! ```ignore
//! #[cfg_attr(not(guest = "calc-go"), ignore = "target/guests/calc-go.wasm not built: run make guests")]
//! ```

use std::path::PathBuf;

/// The `extws-wasm` binary built with these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_extws-wasm");

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A component built by `make guests`.
pub fn guest(name: &str) -> PathBuf {
    let path = repo().join("target/guests").join(format!("{name}.wasm"));
    assert!(
        path.is_file(),
        "{} is missing: the tests need the components in target/guests/; build them with \
         `make guests` (or just the Rust ones with `make guest-rust`), or run `make test`, which \
         builds them first",
        path.display()
    );
    path
}

/// A fresh temporary directory for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("extws-{name}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
