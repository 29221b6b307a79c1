//! Object stores for the cluster's processes: an `s3://`, `gs://` or `az://`
//! URL in a shipped plan resolves to a store built the way devex builds it
//! everywhere (delta-rs' handlers, credentials from each cloud's standard
//! environment), so the scheduler and every executor read what the client
//! planned without any registration of their own.

use std::sync::Arc;

use datafusion::error::{DataFusionError, Result};
use datafusion::execution::object_store::{DefaultObjectStoreRegistry, ObjectStoreRegistry};
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use object_store::ObjectStore;
use url::Url;

/// A registry that builds a store on first use of a bucket.
#[derive(Debug, Default)]
pub struct LakeStores {
    known: DefaultObjectStoreRegistry,
}

impl ObjectStoreRegistry for LakeStores {
    fn register_store(&self, url: &Url, store: Arc<dyn ObjectStore>) -> Option<Arc<dyn ObjectStore>> {
        self.known.register_store(url, store)
    }

    fn deregister_store(&self, url: &Url) -> Result<Arc<dyn ObjectStore>> {
        self.known.deregister_store(url)
    }

    fn get_store(&self, url: &Url) -> Result<Arc<dyn ObjectStore>> {
        if let Ok(store) = self.known.get_store(url) {
            return Ok(store);
        }
        if !devex_model::location::REMOTE_SCHEMES.contains(&url.scheme()) {
            return self.known.get_store(url);
        }
        let bucket = Url::parse(&format!(
            "{}://{}/",
            url.scheme(),
            &url[url::Position::BeforeUsername..url::Position::AfterPort]
        ))
        .map_err(|e| DataFusionError::Configuration(format!("{url}: {e}")))?;
        let store = devex_lake::deltalake::DeltaTableBuilder::from_url(bucket.clone())
            .and_then(|b| b.build_storage())
            .map_err(|e| DataFusionError::External(Box::new(e)))?
            .object_store(None);
        self.known.register_store(&bucket, Arc::clone(&store));
        Ok(store)
    }
}

/// A runtime whose object stores resolve lake URLs.
pub fn runtime() -> Result<Arc<RuntimeEnv>> {
    RuntimeEnvBuilder::new().with_object_store_registry(Arc::new(LakeStores::default())).build_arc()
}
