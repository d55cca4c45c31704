//! Compiled components, shared: every tenant that loads the same file (same path, inode, size
//! and modification time) gets the same compiled code and pre-instantiation instead of a copy
//! of its own. An entry lives as long as some loaded component holds it; a changed file is a
//! new entry, so a reload compiles the new version.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::SystemTime;

use wasmtime::Engine;
use wasmtime::component::{Component, Linker};

use super::host::HostState;
use crate::wit::HandlerPre;

/// The export that makes a component a `described-handler`.
pub(super) const DESCRIBE: &str = "describe";

/// The optional lifecycle hooks of world `handler-with-hooks`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    /// `on-connect`, after a connection authenticated.
    Connect,
    /// `on-disconnect`, after it closed.
    Disconnect,
}

impl Hook {
    /// The export's name.
    pub fn export(self) -> &'static str {
        match self {
            Self::Connect => "on-connect",
            Self::Disconnect => "on-disconnect",
        }
    }
}

/// Why a file could not be made ready (the caller adds the path).
#[derive(Debug)]
pub(super) enum CompileError {
    /// Not readable, or not a valid component.
    Compile(String),
    /// It does not fit the world the linker provides.
    World(String),
}

/// One component file, compiled and linked.
pub(super) struct Compiled {
    /// Pre-instantiated against the runtime's linker.
    pub pre: HandlerPre<HostState>,
    /// The hooks it exports.
    pub hooks: Vec<Hook>,
    /// Whether it exports `describe`.
    pub describes: bool,
}

/// The compiled components alive, by file.
#[derive(Clone, Default)]
pub(super) struct CompiledCache {
    entries: Arc<Mutex<HashMap<FileKey, Weak<Compiled>>>>,
}

/// A file as it is now: a rewrite changes its modification time (and usually its size).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct FileKey {
    path: PathBuf,
    inode: u64,
    len: u64,
    modified: Option<SystemTime>,
}

impl FileKey {
    fn of(path: &Path) -> std::io::Result<Self> {
        use std::os::unix::fs::MetadataExt as _;
        let path = path.canonicalize()?;
        let meta = std::fs::metadata(&path)?;
        Ok(Self {
            inode: meta.ino(),
            len: meta.len(),
            modified: meta.modified().ok(),
            path,
        })
    }
}

impl CompiledCache {
    /// The compiled form of `path`: the one already loaded, or compiled (through wasmtime's
    /// on-disk cache) and linked now. Compiling holds the lock, so tenants loading one file at
    /// once compile it once.
    pub fn get(
        &self,
        engine: &Engine,
        linker: &Linker<HostState>,
        path: &Path,
    ) -> Result<Arc<Compiled>, CompileError> {
        let key = FileKey::of(path).map_err(|e| CompileError::Compile(e.to_string()))?;
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(compiled) = entries.get(&key).and_then(Weak::upgrade) {
            return Ok(compiled);
        }
        let component = Component::from_file(engine, path)
            .map_err(|e| CompileError::Compile(format!("{e:#}")))?;
        let world = |e: wasmtime::Error| CompileError::World(format!("{e:#}"));
        let hooks = [Hook::Connect, Hook::Disconnect]
            .into_iter()
            .filter(|h| component.get_export_index(None, h.export()).is_some())
            .collect();
        let describes = component.get_export_index(None, DESCRIBE).is_some();
        let instance_pre = linker.instantiate_pre(&component).map_err(world)?;
        let pre = HandlerPre::new(instance_pre).map_err(world)?;
        let compiled = Arc::new(Compiled {
            pre,
            hooks,
            describes,
        });
        entries.retain(|_, e| e.strong_count() > 0);
        entries.insert(key, Arc::downgrade(&compiled));
        Ok(compiled)
    }

    /// How many distinct files are compiled and in use.
    pub fn len(&self) -> usize {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.values().filter(|e| e.strong_count() > 0).count()
    }
}
