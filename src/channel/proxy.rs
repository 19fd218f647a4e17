//! HTTPS proxies: which endpoints go through one (`HTTPS_PROXY` / `NO_PROXY`, or the builder's
//! explicit choice), and the HTTP CONNECT connector that tunnels a connection through it.
//!
//! tonic ignores proxy variables, yet many corporate networks reach Google only through a
//! proxy, so this does what Google's other clients do. The proxy sees the CONNECT line and
//! nothing else readable: tonic runs TLS to the endpoint inside the tunnel (it layers TLS over
//! any connector it is given), so tokens, headers and resource names stay encrypted.
//!
//! Rules, read once when the client is built:
//! - From the environment, `HTTPS_PROXY` (else `https_proxy`) applies to `https://` endpoints
//!   whose host `NO_PROXY` (else `no_proxy`) does not list. Loopback endpoints are always
//!   reached directly, as Go's `ProxyFromEnvironment` (used by grpc-go and gcloud's Go tools)
//!   does: no proxy elsewhere can reach this machine's loopback, and a fake must keep working
//!   on a machine with a proxy configured.
//! - An explicit proxy applies to every endpoint, loopback included, except the hosts of the
//!   explicit no-proxy list; the environment is then not read at all.
//! - No-proxy entries follow curl: `example.com` and `.example.com` match that host and its
//!   subdomains, IP addresses and CIDR ranges match addresses, `*` matches everything.
//! - A proxy URL is `http://[user:password@]host[:port]` (port 80 by default; no scheme means
//!   `http`). User and password become `Proxy-Authorization: Basic`. TLS to the proxy itself
//!   and SOCKS are refused with [`Error::InvalidConfig`] rather than silently ignored.
//!
//! The CONNECT tunnel is written by hand rather than taken from hyper-util's `Tunnel`
//! connector: `Tunnel` reports a refused CONNECT without the proxy's status code, and that code
//! is what tells an operator what to fix (403 policy, 407 credentials, 502 unreachable target)
//! and what decides that a 4xx is not worth retrying ([`ConnectionFailure::ProxyRefused`]).
//! hyper-util's `Matcher` still decides which endpoints go through a proxy.
//!
//! [`ConnectionFailure::ProxyRefused`]: crate::error::ConnectionFailure::ProxyRefused

use std::fmt;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{HeaderValue, Uri};
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::endpoint::Endpoint;
use crate::error::{Error, ProxyError};
use crate::escape::printable;

/// The most of a proxy's CONNECT answer read before giving up on it.
const MAX_RESPONSE_HEAD: usize = 8 * 1024;

/// How much of a proxy's reason phrase is kept for messages.
const MAX_REASON: usize = 80;

/// Which endpoints go through which proxy.
#[derive(Clone, Default)]
pub(crate) struct ProxyRules {
    matcher: Option<Arc<Matcher>>,
    /// Whether loopback endpoints skip the proxy (the environment's rule).
    loopback_direct: bool,
}

impl fmt::Debug for ProxyRules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `Matcher`'s Debug shows proxy URIs without their user info.
        f.debug_struct("ProxyRules")
            .field("matcher", &self.matcher)
            .field("loopback_direct", &self.loopback_direct)
            .finish()
    }
}

impl ProxyRules {
    /// Every endpoint is reached directly.
    pub(crate) fn direct() -> Self {
        Self::default()
    }

    /// `HTTPS_PROXY` / `https_proxy` for `https://` endpoints, minus `no_proxy` (when given)
    /// or else `NO_PROXY` / `no_proxy`; loopback always direct.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] if the proxy variable is set but is not a usable proxy URL.
    pub(crate) fn from_env(no_proxy: Option<&str>) -> Result<Self, Error> {
        Self::from_vars(|name| std::env::var(name).ok(), no_proxy)
    }

    /// As [`from_env`](Self::from_env), reading variables through `var`.
    fn from_vars(
        var: impl Fn(&str) -> Option<String>,
        no_proxy: Option<&str>,
    ) -> Result<Self, Error> {
        let first = |names: [&'static str; 2]| {
            names.into_iter().find_map(|name| {
                var(name)
                    .map(|value| value.trim().to_owned())
                    .filter(|value| !value.is_empty())
                    .map(|value| (name, value))
            })
        };
        let Some((variable, url)) = first(["HTTPS_PROXY", "https_proxy"]) else {
            return Ok(Self::direct());
        };
        check_proxy_url(&url, variable)?;
        let no_proxy = match no_proxy {
            Some(list) => list.to_owned(),
            None => first(["NO_PROXY", "no_proxy"]).map_or_else(String::new, |(_, v)| v),
        };
        let matcher = Matcher::builder().https(url).no(no_proxy).build();
        Ok(Self {
            matcher: Some(Arc::new(matcher)),
            loopback_direct: true,
        })
    }

    /// `url` for every endpoint except the hosts `no_proxy` lists.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] if `url` is not a usable proxy URL.
    pub(crate) fn explicit(url: &str, no_proxy: Option<&str>) -> Result<Self, Error> {
        check_proxy_url(url, "the proxy")?;
        let matcher = Matcher::builder()
            .http(url)
            .https(url)
            .no(no_proxy.unwrap_or_default())
            .build();
        Ok(Self {
            matcher: Some(Arc::new(matcher)),
            loopback_direct: false,
        })
    }

    /// The proxy to reach `endpoint` through, if any.
    pub(crate) fn proxy_for(&self, endpoint: &Endpoint) -> Option<Proxy> {
        // Plaintext goes nowhere but loopback, and a tunnel through a proxy would carry the
        // token in the clear to the proxy (and reach the proxy host's loopback, not ours).
        if !endpoint.is_tls() || (self.loopback_direct && endpoint.is_loopback()) {
            return None;
        }
        let intercept = self.matcher.as_ref()?.intercept(endpoint.uri())?;
        let uri = intercept.uri();
        let host = uri.host()?;
        Some(Proxy {
            // `connect` wants a bare IPv6 address; the CONNECT line keeps the brackets.
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
            port: uri.port_u16().unwrap_or(80),
            authorization: intercept.basic_auth().cloned(),
        })
    }
}

/// Accepts `[http://][user[:password]@]host[:port][/]`; the message never shows user info.
fn check_proxy_url(url: &str, source: &str) -> Result<(), Error> {
    let invalid = |problem: &str| Error::InvalidConfig {
        reason: format!(
            "{source} `{}` {problem}; expected `http://host:port`",
            redact_userinfo(url)
        ),
    };
    let uri: Uri = url.parse().map_err(|_| invalid("is not a valid URL"))?;
    match uri.scheme_str() {
        None | Some("http") => {}
        Some("https") => return Err(invalid("asks for TLS to the proxy, which is not supported")),
        Some(_) => return Err(invalid("is not an HTTP proxy (SOCKS is not supported)")),
    }
    let authority = uri.authority().ok_or_else(|| invalid("has no host"))?;
    if authority.host().is_empty() {
        return Err(invalid("has no host"));
    }
    let host_port = authority
        .as_str()
        .rsplit_once('@')
        .map_or(authority.as_str(), |(_, host_port)| host_port);
    let port = &host_port[authority.host().len().min(host_port.len())..];
    let port_ok = port.is_empty()
        || port
            .strip_prefix(':')
            .and_then(|digits| digits.parse::<u16>().ok())
            .is_some_and(|port| port != 0);
    if !port_ok {
        return Err(invalid("has a port that is not 1-65535"));
    }
    if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
        return Err(invalid("has a path or query"));
    }
    Ok(())
}

/// The URL as it may be shown: `user:password@` replaced by `***@`.
pub(crate) fn redact_userinfo(url: &str) -> String {
    let shown = match url.split_once("://") {
        Some((scheme, rest)) => match rest.rsplit_once('@') {
            Some((_, host)) => format!("{scheme}://***@{host}"),
            None => url.to_owned(),
        },
        None => match url.rsplit_once('@') {
            Some((_, host)) => format!("***@{host}"),
            None => url.to_owned(),
        },
    };
    printable(&shown)
}

/// One proxy to tunnel through.
#[derive(Clone)]
pub(crate) struct Proxy {
    host: String,
    port: u16,
    /// `Basic ...`, marked sensitive.
    authorization: Option<HeaderValue>,
}

impl Proxy {
    /// `http://host:port`, without credentials.
    fn shown(&self) -> String {
        if self.host.contains(':') {
            format!("http://[{}]:{}", self.host, self.port)
        } else {
            format!("http://{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Proxy").field(&self.shown()).finish()
    }
}

/// A connector (a `tower::Service<Uri>`, as tonic's `connect_with_connector` takes) that opens
/// a TCP connection to the proxy and asks it, with HTTP CONNECT, for a tunnel to the URI's
/// host and port. TLS, if any, is tonic's job on top of the tunnel.
#[derive(Clone, Debug)]
pub(crate) struct ProxyConnector {
    proxy: Arc<Proxy>,
}

impl ProxyConnector {
    pub(crate) fn new(proxy: Proxy) -> Self {
        Self {
            proxy: Arc::new(proxy),
        }
    }
}

impl tower::Service<Uri> for ProxyConnector {
    type Response = TokioIo<TcpStream>;
    type Error = ProxyError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, ProxyError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), ProxyError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let proxy = Arc::clone(&self.proxy);
        Box::pin(async move {
            let target = connect_target(&dst);
            let mut stream = TcpStream::connect((proxy.host.as_str(), proxy.port))
                .await
                .map_err(|source| ProxyError::Unreachable {
                    proxy: proxy.shown(),
                    source,
                })?;
            // Small gRPC frames would otherwise wait on Nagle, as on a direct connection.
            let _ = stream.set_nodelay(true);
            tunnel(&mut stream, &target, proxy.authorization.as_ref())
                .await
                .map_err(|failure| failure.at(&proxy, &target))?;
            Ok(TokioIo::new(stream))
        })
    }
}

/// `host:port` for the CONNECT line (IPv6 keeps its brackets, as in a URI).
fn connect_target(dst: &Uri) -> String {
    let port = dst
        .port_u16()
        .unwrap_or(if dst.scheme_str() == Some("http") {
            80
        } else {
            443
        });
    format!("{}:{port}", dst.host().unwrap_or_default())
}

/// Why a tunnel could not be opened, before it is tied to a proxy and target.
#[derive(Debug)]
enum TunnelFailure {
    Refused { status: u16, reason: String },
    Closed,
    Malformed(&'static str),
    Io(io::Error),
}

impl TunnelFailure {
    fn at(self, proxy: &Proxy, target: &str) -> ProxyError {
        let proxy = proxy.shown();
        let target = target.to_owned();
        match self {
            TunnelFailure::Refused { status, reason } => ProxyError::Refused {
                proxy,
                target,
                status,
                reason,
            },
            TunnelFailure::Closed => ProxyError::Closed { proxy, target },
            TunnelFailure::Malformed(what) => ProxyError::Malformed {
                proxy,
                target,
                what,
            },
            TunnelFailure::Io(source) => ProxyError::Io {
                proxy,
                target,
                source,
            },
        }
    }
}

/// Sends CONNECT and reads the answer's head; any 2xx opens the tunnel (RFC 9110 9.3.6).
async fn tunnel<S>(
    io: &mut S,
    target: &str,
    authorization: Option<&HeaderValue>,
) -> Result<(), TunnelFailure>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut request = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n").into_bytes();
    if let Some(value) = authorization {
        request.extend_from_slice(b"Proxy-Authorization: ");
        request.extend_from_slice(value.as_bytes());
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"\r\n");
    io.write_all(&request).await.map_err(TunnelFailure::Io)?;
    io.flush().await.map_err(TunnelFailure::Io)?;

    let mut head = Vec::with_capacity(256);
    let mut chunk = [0u8; 1024];
    let end = loop {
        let n = io.read(&mut chunk).await.map_err(TunnelFailure::Io)?;
        if n == 0 {
            return Err(TunnelFailure::Closed);
        }
        head.extend_from_slice(&chunk[..n]);
        if let Some(end) = find_head_end(&head) {
            break end;
        }
        if head.len() > MAX_RESPONSE_HEAD {
            return Err(TunnelFailure::Malformed("an answer head over 8 KiB"));
        }
    };
    let (status, reason) = parse_status_line(&head)?;
    if !(200..300).contains(&status) {
        return Err(TunnelFailure::Refused { status, reason });
    }
    // The client speaks first in TLS and HTTP/2 alike: bytes here would corrupt the stream.
    if head.len() > end {
        return Err(TunnelFailure::Malformed("data before the tunnel was used"));
    }
    Ok(())
}

/// The offset just past the blank line ending an HTTP head.
fn find_head_end(bytes: &[u8]) -> Option<usize> {
    bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4)
}

/// `HTTP/1.x NNN reason` -> (NNN, printable reason).
fn parse_status_line(head: &[u8]) -> Result<(u16, String), TunnelFailure> {
    let line_end = head
        .windows(2)
        .position(|w| w == b"\r\n")
        .unwrap_or(head.len());
    let line = std::str::from_utf8(&head[..line_end])
        .map_err(|_| TunnelFailure::Malformed("a status line that is not text"))?;
    let mut parts = line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !matches!(version, "HTTP/1.1" | "HTTP/1.0") {
        return Err(TunnelFailure::Malformed("no HTTP/1.x status line"));
    }
    let status = parts
        .next()
        .filter(|code| code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or(TunnelFailure::Malformed("no three-digit status code"))?;
    let reason: String = printable(parts.next().unwrap_or_default().trim())
        .chars()
        .take(MAX_REASON)
        .collect();
    Ok((status, reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(url: &str) -> Endpoint {
        Endpoint::parse(url).expect("valid endpoint")
    }

    fn proxied(rules: &ProxyRules, url: &str) -> Option<String> {
        rules.proxy_for(&endpoint(url)).map(|p| p.shown())
    }

    #[test]
    fn explicit_proxy_applies_to_all_but_no_proxy_hosts() {
        let rules = ProxyRules::explicit(
            "http://proxy.corp:3128",
            Some("internal.example, .svc.example,10.0.0.0/8"),
        )
        .unwrap();
        let via = Some("http://proxy.corp:3128".to_owned());
        assert_eq!(
            proxied(&rules, "https://us-central1-aiplatform.googleapis.com"),
            via
        );
        assert_eq!(
            proxied(&rules, "https://localhost:8443"),
            via,
            "explicit covers loopback"
        );
        assert_eq!(
            proxied(&rules, "http://127.0.0.1:9"),
            None,
            "plaintext is never tunnelled: the proxy would read the token"
        );
        assert_eq!(proxied(&rules, "https://internal.example"), None);
        assert_eq!(
            proxied(&rules, "https://a.internal.example"),
            None,
            "subdomain"
        );
        assert_eq!(
            proxied(&rules, "https://notinternal.example"),
            via,
            "not a suffix match"
        );
        assert_eq!(
            proxied(&rules, "https://x.svc.example"),
            None,
            "leading-dot suffix"
        );
        assert_eq!(proxied(&rules, "https://10.1.2.3"), None, "CIDR");
        assert_eq!(proxied(&rules, "https://11.1.2.3"), via);
    }

    fn from_vars(vars: &[(&str, &str)]) -> Result<ProxyRules, Error> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        ProxyRules::from_vars(
            |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()),
            None,
        )
    }

    #[test]
    fn environment_proxies_https_endpoints_except_no_proxy_and_loopback() {
        let rules = from_vars(&[
            ("https_proxy", "http://lower:1"),
            ("HTTPS_PROXY", "http://upper:3128"),
            ("no_proxy", "ignored.example"),
            ("NO_PROXY", ".corp.example"),
        ])
        .unwrap();
        let via = Some("http://upper:3128".to_owned());
        assert_eq!(proxied(&rules, "https://aiplatform.googleapis.com"), via);
        assert_eq!(
            proxied(&rules, "https://ignored.example"),
            via,
            "NO_PROXY wins"
        );
        assert_eq!(proxied(&rules, "https://a.corp.example"), None);
        assert_eq!(proxied(&rules, "https://localhost:8443"), None, "loopback");
        assert_eq!(proxied(&rules, "https://127.0.0.1:8443"), None, "loopback");
        assert_eq!(proxied(&rules, "http://127.0.0.1:8080"), None, "plaintext");
    }

    #[test]
    fn lower_case_variables_and_blank_values() {
        let rules = from_vars(&[("HTTPS_PROXY", "  "), ("https_proxy", "lower:8080")]).unwrap();
        assert_eq!(
            proxied(&rules, "https://aiplatform.googleapis.com"),
            Some("http://lower:8080".to_owned())
        );
        let none = from_vars(&[("HTTP_PROXY", "http://only-http:1")]).unwrap();
        assert_eq!(proxied(&none, "https://aiplatform.googleapis.com"), None);
    }

    #[test]
    fn a_bad_environment_proxy_is_an_error_naming_the_variable() {
        let err = from_vars(&[("HTTPS_PROXY", "socks5://u:pw@proxy:1080")]).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, Error::InvalidConfig { .. }), "{text}");
        assert!(
            text.contains("HTTPS_PROXY") && !text.contains("pw"),
            "{text}"
        );
    }

    #[test]
    fn star_bypasses_everything() {
        let rules = ProxyRules::explicit("proxy.corp:3128", Some("*")).unwrap();
        assert_eq!(proxied(&rules, "https://aiplatform.googleapis.com"), None);
    }

    #[test]
    fn default_port_is_80_and_credentials_become_basic_auth() {
        let rules = ProxyRules::explicit("http://user:p%40ss@proxy.corp", None).unwrap();
        let proxy = rules
            .proxy_for(&endpoint("https://aiplatform.googleapis.com"))
            .unwrap();
        assert_eq!(proxy.port, 80);
        let auth = proxy.authorization.as_ref().unwrap();
        assert_eq!(auth, "Basic dXNlcjpwQHNz"); // user:p@ss
        assert!(auth.is_sensitive());
        assert!(!format!("{proxy:?} {rules:?}").contains("p%40ss"));
    }

    #[test]
    fn direct_never_proxies() {
        let rules = ProxyRules::direct();
        assert_eq!(proxied(&rules, "https://aiplatform.googleapis.com"), None);
    }

    #[test]
    fn unusable_proxy_urls_are_invalid_config_without_credentials() {
        for url in [
            "https://proxy:443",
            "socks5://proxy:1080",
            "http://",
            "http://proxy:0",
            "http://proxy:99999",
            "http://proxy:3128/path",
            "not a url",
        ] {
            let err = ProxyRules::explicit(url, None).unwrap_err();
            assert!(matches!(err, Error::InvalidConfig { .. }), "{url}: {err}");
        }
        let err = ProxyRules::explicit("https://me:secret@proxy", None).unwrap_err();
        let text = err.to_string();
        assert!(
            !text.contains("secret") && text.contains("***@proxy"),
            "{text}"
        );
    }

    async fn handshake(answer: &'static [u8]) -> (Result<(), TunnelFailure>, Vec<u8>) {
        let (mut client, mut server) = tokio::io::duplex(4096);
        let proxy = tokio::spawn(async move {
            let mut seen = vec![0u8; 1024];
            let n = server.read(&mut seen).await.unwrap();
            server.write_all(answer).await.unwrap();
            seen.truncate(n);
            seen
        });
        let auth = HeaderValue::from_static("Basic eDp5");
        let result = tunnel(&mut client, "host.example:443", Some(&auth)).await;
        (result, proxy.await.unwrap())
    }

    #[tokio::test]
    async fn a_2xx_opens_the_tunnel_after_a_well_formed_connect() {
        let (result, seen) = handshake(b"HTTP/1.1 200 Connection established\r\n\r\n").await;
        assert!(result.is_ok());
        assert_eq!(
            seen,
            b"CONNECT host.example:443 HTTP/1.1\r\nHost: host.example:443\r\n\
              Proxy-Authorization: Basic eDp5\r\n\r\n"
        );
    }

    #[tokio::test]
    async fn refusals_keep_status_and_reason() {
        let (result, _) = handshake(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n").await;
        let Err(TunnelFailure::Refused { status, reason }) = result else {
            panic!("{result:?}")
        };
        assert_eq!((status, reason.as_str()), (403, "Forbidden"));
    }

    #[tokio::test]
    async fn garbage_and_early_data_are_malformed() {
        for answer in [
            &b"SSH-2.0-OpenSSH\r\n\r\n"[..],
            b"HTTP/1.1 2000 OK\r\n\r\n",
            b"HTTP/1.1 200 OK\r\n\r\nearly",
        ] {
            let (mut client, mut server) = tokio::io::duplex(4096);
            tokio::spawn(async move {
                let mut sink = [0u8; 512];
                let _ = server.read(&mut sink).await;
                server.write_all(answer).await.unwrap();
            });
            let result = tunnel(&mut client, "h:443", None).await;
            assert!(
                matches!(result, Err(TunnelFailure::Malformed(_))),
                "{result:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_silent_close_is_closed() {
        let (mut client, server) = tokio::io::duplex(4096);
        drop(server);
        let result = tunnel(&mut client, "h:443", None).await;
        assert!(matches!(
            result,
            Err(TunnelFailure::Closed | TunnelFailure::Io(_))
        ));
    }
}
