//! Starting the fake: the builder that seeds it and the handle that observes and stops it.
//!
//! The server binds 127.0.0.1 only (it may hold a test token) with TCP_NODELAY, without which
//! small gRPC calls stall about 40 ms on loopback. It speaks plaintext HTTP/2 by default, or TLS
//! with ALPN h2 when given a certificate, so the path every real endpoint takes is tested too.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Identity, Server, ServerTlsConfig};
use tower::util::MapRequestLayer;

use super::calllog::{CallLog, CallRecord};
use super::deadline::stamp_arrival;
use super::dispatch::Core;
use super::error::FakeError;
use super::faults::{ArmedFault, FaultRule};
use super::scenario::{ResourceSpec, Scenario, check_unique_names};
use super::services::FakeServices;
use super::state::FakeState;
use super::{DEFAULT_CANCEL_DELAY, SHUTDOWN_GRACE};
use crate::State;
use crate::name::location_problem;
use crate::wire::google::cloud::aiplatform::v1::gen_ai_tuning_service_server::GenAiTuningServiceServer;
use crate::wire::google::cloud::aiplatform::v1::job_service_server::JobServiceServer;
use crate::wire::google::cloud::aiplatform::v1::pipeline_service_server::PipelineServiceServer;
use crate::wire::google::cloud::location::locations_server::LocationsServer;
use crate::wire::google::longrunning::operations_server::OperationsServer;

/// The built-in fake Vertex AI server; start one with [`FakeVertex::builder`].
#[derive(Debug, Clone, Copy)]
pub struct FakeVertex;

impl FakeVertex {
    /// A builder for a fake with no resources, no token, no faults and the default cancel delay.
    pub fn builder() -> FakeVertexBuilder {
        FakeVertexBuilder::default()
    }
}

/// Seeds and configures a fake before [`start`](FakeVertexBuilder::start). Later calls win.
pub struct FakeVertexBuilder {
    port: u16,
    token: Option<String>,
    cancel_delay: Duration,
    faults: Vec<FaultRule>,
    resources: Vec<ResourceSpec>,
    locations: Vec<String>,
    record_calls: bool,
    log_file: Option<PathBuf>,
    state: Option<FakeState>,
    tls: Option<Identity>,
    lists_ignore_filter: bool,
}

impl Default for FakeVertexBuilder {
    fn default() -> Self {
        Self {
            port: 0,
            token: None,
            cancel_delay: DEFAULT_CANCEL_DELAY,
            faults: Vec::new(),
            resources: Vec::new(),
            locations: Vec::new(),
            record_calls: true,
            log_file: None,
            state: None,
            tls: None,
            lists_ignore_filter: false,
        }
    }
}

impl fmt::Debug for FakeVertexBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeVertexBuilder")
            .field("port", &self.port)
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .field("cancel_delay", &self.cancel_delay)
            .field("faults", &self.faults)
            .field("resources", &self.resources.len())
            .field("record_calls", &self.record_calls)
            .field("log_file", &self.log_file)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

impl FakeVertexBuilder {
    /// Listens on this port of 127.0.0.1 (0, the default, picks a free one).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Requires `authorization: Bearer {token}` on every call.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// How long a cancelled resource stays CANCELLING (unless it has its own delay).
    pub fn cancel_delay(mut self, delay: Duration) -> Self {
        self.cancel_delay = delay;
        self
    }

    /// Adds a fault applied to every call it matches.
    pub fn fault(mut self, rule: FaultRule) -> Self {
        self.faults.push(rule);
        self
    }

    /// Seeds a pipeline job (`projects/{p}/locations/{l}/pipelineJobs/{id}`).
    pub fn pipeline_job(self, name: impl Into<String>, state: State) -> Self {
        self.resource(ResourceSpec::new(name, state))
    }

    /// Seeds a NAS job (`projects/{p}/locations/{l}/nasJobs/{id}`).
    pub fn nas_job(self, name: impl Into<String>, state: State) -> Self {
        self.resource(ResourceSpec::new(name, state))
    }

    /// Seeds an operation (`projects/{p}/locations/{l}/[.../]operations/{id}`); RUNNING is
    /// not done, SUCCEEDED / FAILED / CANCELLED are done.
    pub fn operation(self, name: impl Into<String>, state: State) -> Self {
        self.resource(ResourceSpec::new(name, state))
    }

    /// Seeds a resource with every detail (cancel outcome, faults, labels, ...).
    pub fn resource(mut self, spec: ResourceSpec) -> Self {
        self.resources.push(spec);
        self
    }

    /// Seeds many resources.
    pub fn resources(mut self, specs: impl IntoIterator<Item = ResourceSpec>) -> Self {
        self.resources.extend(specs);
        self
    }

    /// Applies a scenario: its cancel delay (if set), faults and resources.
    pub fn scenario(mut self, scenario: Scenario) -> Self {
        if let Some(ms) = scenario.cancel_delay_ms {
            self.cancel_delay = Duration::from_millis(ms);
        }
        self.faults.extend(scenario.faults);
        self.resources.extend(scenario.resources);
        self.locations.extend(scenario.locations);
        self
    }

    /// Adds a location ListLocations reports for every project, besides the locations of the
    /// resources (a region the project may use but has no work in).
    pub fn location(mut self, location: impl Into<String>) -> Self {
        self.locations.push(location.into());
        self
    }

    /// Whether to keep a [`CallRecord`] of every call in memory (default on; turn it off for
    /// long benchmarks).
    pub fn record_calls(mut self, on: bool) -> Self {
        self.record_calls = on;
        self
    }

    /// Also appends every call to this file as a JSON line, as it happens.
    pub fn log_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.log_file = Some(path.into());
        self
    }

    /// Serves this store instead of a new one (seeded resources are added to it), so a
    /// restarted fake keeps the state of the one before.
    pub fn state(mut self, state: FakeState) -> Self {
        self.state = Some(state);
        self
    }

    /// Serves TLS (ALPN h2) with this certificate chain and private key, both PEM; the
    /// certificate should cover `localhost` (what [`FakeHandle::endpoint`] then names) and
    /// `127.0.0.1`. The key is checked in [`start`](Self::start).
    pub fn tls(mut self, cert_pem: impl AsRef<[u8]>, key_pem: impl AsRef<[u8]>) -> Self {
        self.tls = Some(Identity::from_pem(cert_pem, key_pem));
        self
    }

    /// Makes every List answer as a server that ignores its `filter` would: the filter is
    /// still checked, but every resource under the parent is listed (default off). Google
    /// documents what a filter selects, not that a List applies it, so a client must not
    /// take a listed item as a match on the server's word alone.
    pub fn lists_ignore_filter(mut self, on: bool) -> Self {
        self.lists_ignore_filter = on;
        self
    }

    /// Validates everything, binds 127.0.0.1 and starts serving in a background task.
    ///
    /// # Errors
    /// [`FakeError::InvalidResource`] / [`FakeError::InvalidFault`] for bad seeds (a resource
    /// name seeded twice included),
    /// [`FakeError::Bind`] if the port cannot be bound, [`FakeError::CallLog`] if the log file
    /// cannot be created, [`FakeError::Tls`] if the certificate or key is unusable.
    pub async fn start(self) -> Result<FakeHandle, FakeError> {
        check_unique_names(&self.resources)?;
        let seeds = self.resources.len();
        let store = self
            .state
            .unwrap_or_else(|| FakeState::with_capacity(seeds));
        for spec in self.resources {
            store.insert(spec)?;
        }
        for location in &self.locations {
            if let Some(reason) = location_problem(location) {
                return Err(FakeError::InvalidResource {
                    name: location.clone(),
                    reason,
                });
            }
            store.add_location(location);
        }
        let faults = self
            .faults
            .into_iter()
            .map(ArmedFault::arm)
            .collect::<Result<Vec<_>, _>>()?;
        let log = Arc::new(CallLog::new(self.record_calls, self.log_file.as_deref())?);
        let core = Arc::new(Core {
            store,
            token: self.token,
            cancel_delay: self.cancel_delay,
            faults,
            log,
            lists_ignore_filter: self.lists_ignore_filter,
        });
        let port = self.port;
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port))
            .await
            .map_err(|source| FakeError::Bind { port, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| FakeError::Bind { port, source })?;
        let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));

        let services = Arc::new(FakeServices {
            core: Arc::clone(&core),
        });
        let tls = self.tls.is_some();
        let mut server = Server::builder();
        if let Some(identity) = self.tls {
            server = server
                .tls_config(ServerTlsConfig::new().identity(identity))
                .map_err(FakeError::Tls)?;
        }
        let router = server
            .layer(MapRequestLayer::new(stamp_arrival::<tonic::body::Body>))
            .add_service(PipelineServiceServer::from_arc(Arc::clone(&services)))
            .add_service(JobServiceServer::from_arc(Arc::clone(&services)))
            .add_service(GenAiTuningServiceServer::from_arc(Arc::clone(&services)))
            .add_service(LocationsServer::from_arc(Arc::clone(&services)))
            .add_service(OperationsServer::from_arc(services));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(router.serve_with_incoming_shutdown(incoming, async {
            // A dropped sender (the handle dropped) stops the server too.
            let _ = stopped.await;
        }));
        Ok(FakeHandle {
            addr,
            tls,
            core,
            stop: Some(stop),
            task: Some(task),
        })
    }
}

/// A running fake. Dropping it stops the server; [`shutdown`](FakeHandle::shutdown) also waits
/// until the port is free.
#[derive(Debug)]
pub struct FakeHandle {
    addr: SocketAddr,
    tls: bool,
    core: Arc<Core>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), tonic::transport::Error>>>,
}

impl FakeHandle {
    /// The address it listens on (always 127.0.0.1).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The endpoint to connect to: `http://127.0.0.1:PORT`, or `https://localhost:PORT` when
    /// serving TLS (a host name, as certificates name hosts).
    pub fn endpoint(&self) -> String {
        if self.tls {
            format!("https://localhost:{}", self.addr.port())
        } else {
            format!("http://{}", self.addr)
        }
    }

    /// Whether it serves TLS.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// Every call answered so far (empty if call recording is off).
    pub fn calls(&self) -> Vec<CallRecord> {
        self.core.log.snapshot()
    }

    /// Forgets the calls recorded so far.
    pub fn clear_calls(&self) {
        self.core.log.clear();
    }

    /// The store it serves; pass it to [`FakeVertexBuilder::state`] to restart with it.
    pub fn state(&self) -> FakeState {
        self.core.store.clone()
    }

    /// The state a Get would report now for `name`, or `None` if unknown.
    pub fn state_of(&self, name: &str) -> Option<State> {
        self.core.store.state_of(name)
    }

    /// Forces `name` into `state` (dropping a pending cancel).
    ///
    /// # Errors
    /// As [`FakeState::set_state`].
    pub fn set_state(&self, name: &str, state: State) -> Result<(), FakeError> {
        self.core.store.set_state(name, state)
    }

    /// Adds (or replaces) a resource while serving.
    ///
    /// # Errors
    /// As [`FakeState::insert`].
    pub fn insert(&self, spec: ResourceSpec) -> Result<(), FakeError> {
        self.core.store.insert(spec)
    }

    /// Stops accepting calls, lets calls in flight finish for up to [`SHUTDOWN_GRACE`], then
    /// drops the rest, and returns once the port is closed.
    ///
    /// # Errors
    /// [`FakeError::Serve`] if the server had failed.
    pub async fn shutdown(mut self) -> Result<(), FakeError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let Some(mut task) = self.task.take() else {
            return Ok(());
        };
        match tokio::time::timeout(SHUTDOWN_GRACE, &mut task).await {
            Ok(Ok(result)) => result.map_err(FakeError::Serve),
            // The task only fails to join by panicking; its listener is gone either way.
            Ok(Err(_)) => Ok(()),
            // A peer that never acknowledges the GOAWAY must not keep the fake alive.
            Err(_) => {
                task.abort();
                let _ = task.await;
                Ok(())
            }
        }
    }
}

impl Drop for FakeHandle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
