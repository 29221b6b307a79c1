//! `_state`: the small files kept beside the lake's tables (the run log,
//! each source's watermarks and ETag cache, the files source's attempts).
//!
//! In a local lake they are files under `<data>/_state/`, each replaced
//! atomically, and the writer lock keeps two runs apart. On object storage
//! there is no lock: every write is a conditional put. A file read in this
//! run is replaced only if nobody replaced it since (`If-Match` on its ETag),
//! a file that was absent is created only if it still is (`If-None-Match`),
//! so a concurrent run's update is never silently overwritten. The run log
//! is appended to by read, append, conditional put, retried.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use devex_lake::state::StateStore;
//! use devex_model::location::Location;
//! let dir = tempfile::tempdir().unwrap();
//! let state = StateStore::open(&Location::Local(dir.path().into())).unwrap();
//! assert_eq!(state.read("github/acme.json").await.unwrap(), None);
//! state.write("github/acme.json", b"{}".to_vec()).await.unwrap();
//! state.append_line("runs.ndjson", "{\"run_id\":\"r1\"}").await.unwrap();
//! assert_eq!(state.read("github/acme.json").await.unwrap().unwrap(), b"{}");
//! assert!(dir.path().join("_state/runs.ndjson").is_file());
//! # });
//! ```

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use deltalake::ObjectStore;
use devex_model::location::Location;
use object_store::{GetOptions, PutMode, PutOptions, PutPayload, UpdateVersion};

use crate::error::LakeError;

/// How often an append to the run log is retried when another run appended first.
const APPEND_ATTEMPTS: usize = 10;

/// The `_state` of one lake.
pub struct StateStore {
    at: Where,
    /// Per key read on object storage: its version then (`None`: it was absent).
    seen: Mutex<HashMap<String, Option<UpdateVersion>>>,
}

enum Where {
    Local(PathBuf),
    Remote { url: String, store: Arc<dyn ObjectStore> },
}

impl std::fmt::Debug for StateStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.at {
            Where::Local(p) => write!(f, "StateStore({})", p.display()),
            Where::Remote { url, .. } => write!(f, "StateStore({url})"),
        }
    }
}

impl StateStore {
    /// The `_state` of the lake at `lake` (nothing is created until a write).
    pub fn open(lake: &Location) -> Result<StateStore, LakeError> {
        let at = match lake.join("_state") {
            Location::Local(dir) => Where::Local(dir),
            Location::Remote(url) => {
                let parsed = url::Url::parse(&format!("{url}/")).map_err(|e| LakeError::Io {
                    file: url.clone(),
                    source: std::io::Error::new(std::io::ErrorKind::InvalidInput, e),
                })?;
                let store = deltalake::DeltaTableBuilder::from_url(parsed)
                    .and_then(|b| b.build_storage())
                    .map_err(|e| LakeError::Io { file: url.clone(), source: std::io::Error::other(e) })?
                    .object_store(None);
                Where::Remote { url, store }
            }
        };
        Ok(StateStore { at, seen: Mutex::new(HashMap::new()) })
    }

    /// The `_state` of the local lake in `data_dir`.
    pub fn local(data_dir: &std::path::Path) -> StateStore {
        StateStore { at: Where::Local(data_dir.join("_state")), seen: Mutex::new(HashMap::new()) }
    }

    /// `key` as JSON (`T::default()` if it does not exist). The error says
    /// which file and how to start over.
    pub async fn read_json<T: serde::de::DeserializeOwned + Default>(&self, key: &str) -> Result<T, LakeError> {
        match self.read(key).await? {
            Some(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| LakeError::StateUnreadable { file: self.describe(key), reason: e.to_string() }),
            None => Ok(T::default()),
        }
    }

    /// Replace `key` with `value` as JSON (see [`StateStore::write`]).
    pub async fn write_json<T: serde::Serialize>(&self, key: &str, value: &T) -> Result<(), LakeError> {
        let bytes = serde_json::to_vec_pretty(value).map_err(|e| LakeError::internal("encoding state", e))?;
        self.write(key, bytes).await
    }

    /// Where `key` is kept: a path or a URL (for messages).
    pub fn describe(&self, key: &str) -> String {
        match &self.at {
            Where::Local(dir) => dir.join(key).display().to_string(),
            Where::Remote { url, .. } => format!("{url}/{key}"),
        }
    }

    fn io(&self, key: &str, source: std::io::Error) -> LakeError {
        LakeError::Io { file: self.describe(key), source }
    }

    fn remote(&self, key: &str, e: object_store::Error) -> LakeError {
        match e {
            object_store::Error::Precondition { .. } | object_store::Error::AlreadyExists { .. } => {
                LakeError::StateConflict { file: self.describe(key) }
            }
            e => self.io(key, std::io::Error::other(e)),
        }
    }

    /// The bytes of `key`, `None` if it does not exist.
    pub async fn read(&self, key: &str) -> Result<Option<Vec<u8>>, LakeError> {
        match &self.at {
            Where::Local(dir) => match std::fs::read(dir.join(key)) {
                Ok(bytes) => Ok(Some(bytes)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(self.io(key, e)),
            },
            Where::Remote { store, .. } => {
                let path = object_store::path::Path::from(key);
                let (bytes, version) = match store.get_opts(&path, GetOptions::default()).await {
                    Ok(got) => {
                        let version =
                            UpdateVersion { e_tag: got.meta.e_tag.clone(), version: got.meta.version.clone() };
                        let bytes = got.bytes().await.map_err(|e| self.remote(key, e))?;
                        (Some(bytes.to_vec()), Some(version))
                    }
                    Err(object_store::Error::NotFound { .. }) => (None, None),
                    Err(e) => return Err(self.remote(key, e)),
                };
                self.seen.lock().expect("not poisoned").insert(key.to_string(), version);
                Ok(bytes)
            }
        }
    }

    /// Replace `key` with `bytes`. On object storage, a key this store read
    /// is replaced only if it is unchanged since ([`LakeError::StateConflict`]
    /// otherwise); a key it never read is overwritten.
    pub async fn write(&self, key: &str, bytes: Vec<u8>) -> Result<(), LakeError> {
        match &self.at {
            Where::Local(dir) => {
                let path = dir.join(key);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| self.io(key, e))?;
                }
                devex_model::atomic::write_atomic(&path, &bytes).map_err(|e| self.io(key, e))
            }
            Where::Remote { store, .. } => {
                let mode = match self.seen.lock().expect("not poisoned").get(key) {
                    None => PutMode::Overwrite,
                    Some(None) => PutMode::Create,
                    Some(Some(version)) => PutMode::Update(version.clone()),
                };
                let path = object_store::path::Path::from(key);
                let put = store
                    .put_opts(&path, PutPayload::from(bytes), PutOptions::from(mode))
                    .await
                    .map_err(|e| self.remote(key, e))?;
                let version = UpdateVersion { e_tag: put.e_tag, version: put.version };
                self.seen.lock().expect("not poisoned").insert(key.to_string(), Some(version));
                Ok(())
            }
        }
    }

    /// Append one line to `key` (the run log). On object storage: read,
    /// append, put if unchanged, retried while other runs append first.
    pub async fn append_line(&self, key: &str, line: &str) -> Result<(), LakeError> {
        if let Where::Local(dir) = &self.at {
            use std::io::Write;
            let path = dir.join(key);
            let io = |e| self.io(key, e);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(io)?;
            }
            let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&path).map_err(io)?;
            return writeln!(f, "{line}").map_err(io);
        }
        let mut last = None;
        for _ in 0..APPEND_ATTEMPTS {
            let mut bytes = self.read(key).await?.unwrap_or_default();
            if !bytes.is_empty() && !bytes.ends_with(b"\n") {
                bytes.push(b'\n');
            }
            bytes.extend_from_slice(line.as_bytes());
            bytes.push(b'\n');
            match self.write(key, bytes).await {
                Err(e @ LakeError::StateConflict { .. }) => last = Some(e),
                other => return other,
            }
        }
        Err(last.expect("at least one attempt"))
    }
}
