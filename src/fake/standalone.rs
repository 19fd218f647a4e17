//! The fake as its own process (`vertex-cancel fake`), for tests in other languages, demos and
//! CI jobs that need a Vertex AI endpoint.
//!
//! The contract with whoever spawned it: the first stdout line is `PORT n` (flushed at once, so
//! the parent can connect without guessing), calls go to the `--log` file as JSON lines as they
//! happen, and SIGINT or SIGTERM stops it cleanly with exit status 0.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::error::FakeError;
use super::scenario::Scenario;
use super::server::{FakeVertex, FakeVertexBuilder};

/// What `vertex-cancel fake` was asked for.
#[derive(Clone, Default)]
pub struct StandaloneOptions {
    /// Port on 127.0.0.1; 0 picks a free one (reported on the `PORT n` line).
    pub port: u16,
    /// A scenario file to seed from.
    pub scenario: Option<PathBuf>,
    /// Require this bearer token.
    pub token: Option<String>,
    /// Append every call to this file as a JSON line.
    pub log: Option<PathBuf>,
}

impl fmt::Debug for StandaloneOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StandaloneOptions")
            .field("port", &self.port)
            .field("scenario", &self.scenario)
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .field("log", &self.log)
            .finish()
    }
}

/// The certificate chain and private key (PEM files) of a standalone fake serving TLS
/// (`--tls-cert FILE --tls-key FILE`); the certificate should cover `localhost`.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The PEM certificate chain, leaf first.
    pub cert: PathBuf,
    /// The PEM private key of the leaf.
    pub key: PathBuf,
}

/// Runs the fake until SIGINT or SIGTERM, printing `PORT n` as the first stdout line.
///
/// # Errors
/// A bad scenario, an unusable port or log file, or failing to write stdout.
pub async fn run_standalone(opts: StandaloneOptions) -> Result<(), FakeError> {
    run_standalone_tls(opts, None).await
}

/// As [`run_standalone`], serving TLS when given [`TlsFiles`].
///
/// # Errors
/// As [`run_standalone`], and [`FakeError::ReadFile`] / [`FakeError::Tls`] for unreadable or
/// unusable certificate and key files.
pub async fn run_standalone_tls(
    opts: StandaloneOptions,
    tls: Option<TlsFiles>,
) -> Result<(), FakeError> {
    let builder = standalone_builder(opts, tls)?;
    serve_until_signal(builder).await
}

/// The fake `opts` and `tls` describe, not yet started.
fn standalone_builder(
    opts: StandaloneOptions,
    tls: Option<TlsFiles>,
) -> Result<FakeVertexBuilder, FakeError> {
    let mut builder = FakeVertex::builder().port(opts.port).record_calls(false);
    if let Some(path) = &opts.scenario {
        builder = builder.scenario(Scenario::from_file(path)?);
    }
    if let Some(token) = opts.token {
        builder = builder.token(token);
    }
    if let Some(log) = opts.log {
        builder = builder.log_file(log);
    }
    if let Some(files) = tls {
        builder = builder.tls(read(&files.cert)?, read(&files.key)?);
    }
    Ok(builder)
}

fn read(path: &Path) -> Result<Vec<u8>, FakeError> {
    std::fs::read(path).map_err(|source| FakeError::ReadFile {
        path: path.to_owned(),
        source,
    })
}

async fn serve_until_signal(builder: FakeVertexBuilder) -> Result<(), FakeError> {
    // Listen for signals before announcing the port, so a parent that signals right after
    // reading it is heard.
    let stop = stop_signal()?;
    let handle = builder.start().await?;
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "PORT {}", handle.addr().port()).map_err(FakeError::Io)?;
        stdout.flush().map_err(FakeError::Io)?;
    }
    stop.await;
    handle.shutdown().await
}

/// A future that completes on SIGINT or (on Unix) SIGTERM.
fn stop_signal() -> Result<impl Future<Output = ()>, FakeError> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).map_err(FakeError::Io)?;
        let mut int = signal(SignalKind::interrupt()).map_err(FakeError::Io)?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("vertex-cancel-{}-{name}", std::process::id()))
    }

    #[tokio::test]
    async fn tls_files_make_an_https_fake() {
        let certified =
            rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
                .expect("certificate");
        let (cert, key) = (scratch("tls-cert.pem"), scratch("tls-key.pem"));
        std::fs::write(&cert, certified.cert.pem()).unwrap();
        std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
        let files = TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        };
        let started = standalone_builder(StandaloneOptions::default(), Some(files))
            .unwrap()
            .start()
            .await;
        let _ = (std::fs::remove_file(&cert), std::fs::remove_file(&key));
        let fake = started.unwrap();
        assert!(fake.is_tls());
        assert_eq!(
            fake.endpoint(),
            format!("https://localhost:{}", fake.addr().port())
        );
        fake.shutdown().await.unwrap();
    }

    #[test]
    fn a_missing_tls_file_names_the_file() {
        let files = TlsFiles {
            cert: scratch("does-not-exist.pem"),
            key: scratch("does-not-exist-either.pem"),
        };
        let err = standalone_builder(StandaloneOptions::default(), Some(files)).unwrap_err();
        let FakeError::ReadFile { path, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(path, &scratch("does-not-exist.pem"));
    }
}
