//! Compiled components keyed by the plugin's SHA-256: in memory, and on disk when a cache
//! directory is configured, so a daemon restart does not recompile every plugin.

use crate::error::{PluginError, Result};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::Mutex;
use wasmtime::Engine;
use wasmtime::component::Component;

pub struct ComponentCache {
    memory: Mutex<HashMap<String, Component>>,
    dir: Option<PathBuf>,
    /// Distinguishes artefacts of other wasmtime versions or engine settings.
    engine_tag: String,
}

impl ComponentCache {
    pub fn new(engine: &Engine, dir: Option<PathBuf>) -> Self {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        ComponentCache {
            memory: Mutex::new(HashMap::new()),
            dir,
            engine_tag: format!("{:016x}", hasher.finish()),
        }
    }

    pub fn get_or_compile(
        &self,
        engine: &Engine,
        sha256: &str,
        bytes: &[u8],
        file: &str,
    ) -> Result<Component> {
        if let Some(c) = self.lock().get(sha256) {
            return Ok(c.clone());
        }
        let component = match self.read_disk(engine, sha256) {
            Some(c) => c,
            None => {
                let c = compile(engine, bytes, file)?;
                self.write_disk(sha256, &c);
                c
            }
        };
        self.lock().insert(sha256.to_string(), component.clone());
        Ok(component)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Component>> {
        self.memory.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn path(&self, sha256: &str) -> Option<PathBuf> {
        self.dir
            .as_ref()
            .map(|d| d.join(format!("{sha256}-{}.cwasm", self.engine_tag)))
    }

    #[allow(unsafe_code)]
    fn read_disk(&self, engine: &Engine, sha256: &str) -> Option<Component> {
        let bytes = std::fs::read(self.path(sha256)?).ok()?;
        // SAFETY: the cache directory holds only artefacts this process serialized (named by the
        // plugin hash and engine tag); wasmtime still checks version and engine compatibility,
        // and any failure falls back to compiling from the plugin bytes.
        unsafe { Component::deserialize(engine, bytes) }.ok()
    }

    fn write_disk(&self, sha256: &str, component: &Component) {
        let Some(path) = self.path(sha256) else {
            return;
        };
        let Ok(bytes) = component.serialize() else {
            return;
        };
        // Write then rename so a concurrent reader never sees half a file.
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let written = std::fs::create_dir_all(path.parent().unwrap_or(&path))
            .and_then(|_| std::fs::write(&tmp, bytes))
            .and_then(|_| std::fs::rename(&tmp, &path));
        if let Err(e) = written {
            tracing::warn!(path = %path.display(), "cannot cache compiled plugin: {e}");
            let _ = std::fs::remove_file(&tmp);
        }
    }
}

fn compile(engine: &Engine, bytes: &[u8], file: &str) -> Result<Component> {
    if bytes.len() >= 8 && bytes[..4] == *b"\0asm" && bytes[4..8] == [1, 0, 0, 0] {
        return Err(PluginError::Invalid {
            file: file.into(),
            reason: "it is a core WebAssembly module, not a component; build it for wasm32-wasip2 (cargo build --target wasm32-wasip2) so it becomes a component".into(),
        });
    }
    Component::from_binary(engine, bytes).map_err(|e| PluginError::Invalid {
        file: file.into(),
        reason: format!(
            "it is not a valid WebAssembly component ({}); was the file truncated or built for another target?",
            e.chain().last().map(|c| c.to_string()).unwrap_or_default()
        ),
    })
}
