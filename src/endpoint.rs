//! Which host serves a target: the location in a name decides the regional endpoint, an explicit
//! region must agree with it, an override (private endpoint, Private Service Connect, a local
//! fake) wins, and plaintext `http://` is allowed only to loopback.
//!
//! Google fails requests for regional resources sent to the wrong regional endpoint, so the host is
//! derived from the name by a fixed table, never guessed from a list of known regions. The location
//! is checked again here (it is already checked when a name is parsed) because it is spliced into a
//! host name: a hostile location must never be able to change which host a token is sent to.
//!
//! ```
//! use vertex_cancel::{EndpointResolver, Service};
//!
//! let resolver = EndpointResolver::new().with_region("europe-west4")?;
//! let endpoint = resolver.resolve(Service::VertexAi, "europe-west4")?;
//! assert_eq!(endpoint.to_string(), "https://europe-west4-aiplatform.googleapis.com");
//! assert!(resolver.resolve(Service::VertexAi, "us-central1").is_err()); // region mismatch
//! # Ok::<(), vertex_cancel::Error>(())
//! ```

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use http::Uri;

use crate::error::{Error, Result};
use crate::escape::printable;
use crate::name::{Service, Target, check_location};

/// The universe domain of Google's public cloud.
pub const DEFAULT_UNIVERSE_DOMAIN: &str = "googleapis.com";

/// The reason given whenever plaintext to a non-loopback host is refused.
const PLAINTEXT_REASON: &str =
    "plaintext http is only allowed to loopback; a token would be sent in the clear";

/// A validated endpoint URL: `https://host[:port]`, or `http://` to a loopback host.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Endpoint {
    uri: Uri,
    port: u16,
    tls: bool,
    loopback: bool,
}

impl Endpoint {
    /// Parses and validates an endpoint URL.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] unless the URL is `http(s)://host[:port]` with at most a `/` path
    /// and no user info, query or fragment; [`Error::InsecureEndpoint`] for `http://` to a host
    /// that is not loopback (`localhost`, `127.0.0.0/8`, `[::1]`).
    pub fn parse(url: &str) -> Result<Self> {
        let bad = |problem: &str| Error::InvalidConfig {
            reason: format!(
                "endpoint `{}` {problem}; expected `https://host[:port]`",
                printable(url)
            ),
        };
        if url.is_empty() {
            return Err(bad("is empty"));
        }
        // `http::Uri` drops nothing silently today, but a fragment has no business here at all.
        if url.contains('#') {
            return Err(bad("has a fragment"));
        }
        let uri: Uri = url.parse().map_err(|_| bad("is not a valid URL"))?;
        let tls = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            Some(other) => {
                return Err(bad(&format!(
                    "has scheme `{}`, not `https` or `http`",
                    printable(other)
                )));
            }
            None => return Err(bad("has no scheme")),
        };
        let authority = uri.authority().ok_or_else(|| bad("has no host"))?;
        if authority.as_str().contains('@') {
            return Err(bad(
                "carries user info; credentials never go in an endpoint URL",
            ));
        }
        if authority.host().is_empty() {
            return Err(bad("has no host"));
        }
        if !matches!(uri.path(), "" | "/") {
            return Err(bad("has a path"));
        }
        if uri.query().is_some() {
            return Err(bad("has a query"));
        }
        // `http::Uri` accepts `:99999` and `:` (then `port_u16()` is `None`), so read it ourselves.
        let port = match &authority.as_str()[authority.host().len()..] {
            "" if tls => 443,
            "" => 80,
            explicit => explicit
                .strip_prefix(':')
                .filter(|digits| digits.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|digits| digits.parse::<u16>().ok())
                .filter(|&port| port != 0)
                .ok_or_else(|| bad("has a port that is not 1-65535"))?,
        };
        let loopback = is_loopback_host(authority.host());
        let normalised = format!("{}://{authority}", if tls { "https" } else { "http" });
        let uri = normalised.parse().map_err(|_| bad("is not a valid URL"))?;
        let endpoint = Self {
            uri,
            port,
            tls,
            loopback,
        };
        // Any endpoint may end up carrying a token, so the token rule applies at parse time.
        check_plaintext(&endpoint, true)?;
        Ok(endpoint)
    }

    /// The URL as `scheme://host[:port]` (no path), ready for a tonic `Endpoint`.
    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    /// The host name or IP literal (IPv6 in brackets, as in the URL).
    pub fn host(&self) -> &str {
        self.uri.host().unwrap_or_default()
    }

    /// The port, defaulting to 443 for `https` and 80 for `http`.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether the connection uses TLS (`https`).
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// Whether the host is loopback: `localhost`, any of `127.0.0.0/8`, or `[::1]`.
    pub fn is_loopback(&self) -> bool {
        self.loopback
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls { "https" } else { "http" };
        match self.uri.authority() {
            Some(authority) => write!(f, "{scheme}://{authority}"),
            None => write!(f, "{}", self.uri),
        }
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Endpoint").field(&self.to_string()).finish()
    }
}

/// The token rule: a token may travel over TLS, or over plaintext only to loopback.
///
/// [`Endpoint::parse`] already applies it with `sends_token = true`; the client calls it again per
/// request path so the rule is stated where the token is attached.
///
/// # Errors
/// [`Error::InsecureEndpoint`] if `sends_token` and the endpoint is plaintext to a non-loopback host.
pub(crate) fn check_plaintext(endpoint: &Endpoint, sends_token: bool) -> Result<()> {
    if sends_token && !endpoint.tls && !endpoint.loopback {
        return Err(Error::InsecureEndpoint {
            endpoint: endpoint.to_string(),
            reason: PLAINTEXT_REASON.to_owned(),
        });
    }
    Ok(())
}

/// `localhost` (any case, as DNS names are), `127.0.0.0/8` or `[::1]`, parsed with `std::net`
/// (so `127.1`, `0x7f.0.0.1` and `127.0.0.1.evil.com` are not loopback). The one loopback rule:
/// endpoints and the `authorized_user` token URI both ask it.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return v6.parse::<Ipv6Addr>().is_ok_and(|ip| ip.is_loopback());
    }
    host.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
}

/// Decides the endpoint for a service and location: the override if any, else Google's table.
#[derive(Debug, Clone)]
pub struct EndpointResolver {
    endpoint_override: Option<Endpoint>,
    region: Option<String>,
    universe_domain: String,
}

impl Default for EndpointResolver {
    fn default() -> Self {
        Self::new()
    }
}

impl EndpointResolver {
    /// Google's public endpoints, no region constraint, no override.
    pub fn new() -> Self {
        Self {
            endpoint_override: None,
            region: None,
            universe_domain: DEFAULT_UNIVERSE_DOMAIN.to_owned(),
        }
    }

    /// Sends every call to `endpoint` (locations and the region are still checked).
    #[must_use]
    pub fn with_override(mut self, endpoint: Endpoint) -> Self {
        self.endpoint_override = Some(endpoint);
        self
    }

    /// Requires every resolved location to equal `region`, as the REST methods' `region` does.
    ///
    /// # Errors
    /// [`Error::InvalidLocation`] unless `region` is a plain location id.
    pub fn with_region(mut self, region: &str) -> Result<Self> {
        check_location(region)?;
        self.region = Some(region.to_owned());
        Ok(self)
    }

    /// Uses another universe domain than `googleapis.com`.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] unless `domain` is a DNS name of lowercase labels joined by dots.
    pub fn with_universe_domain(mut self, domain: &str) -> Result<Self> {
        if let Some(problem) = domain_problem(domain) {
            return Err(Error::InvalidConfig {
                reason: format!(
                    "universe domain `{}` is not a DNS name: {problem}",
                    printable(domain)
                ),
            });
        }
        self.universe_domain = domain.to_owned();
        Ok(self)
    }

    /// The endpoint override, if one is set.
    pub fn endpoint_override(&self) -> Option<&Endpoint> {
        self.endpoint_override.as_ref()
    }

    /// The required region, if one is set.
    pub fn region(&self) -> Option<&str> {
        self.region.as_deref()
    }

    /// The universe domain hosts are built under.
    pub fn universe_domain(&self) -> &str {
        &self.universe_domain
    }

    /// The endpoint serving `location` of `service`.
    ///
    /// # Errors
    /// [`Error::InvalidLocation`] if `location` is not a plain location id, differs from the
    /// configured region, or is not served by AutoML (only `us-central1` and `eu` are).
    pub fn resolve(&self, service: Service, location: &str) -> Result<Endpoint> {
        check_location(location)?;
        if let Some(region) = &self.region
            && region != location
        {
            return Err(Error::InvalidLocation {
                location: location.to_owned(),
                reason: format!(
                    "the name's location `{location}` does not match the configured region \
                     `{region}`; Google refuses a regional resource sent to another region"
                ),
            });
        }
        if let Some(endpoint) = &self.endpoint_override {
            return Ok(endpoint.clone());
        }
        let ud = &self.universe_domain;
        let url = match (service, location) {
            (Service::VertexAi, "global") => format!("https://aiplatform.{ud}"),
            (Service::VertexAi, "us" | "eu") => format!("https://aiplatform.{location}.rep.{ud}"),
            (Service::VertexAi, _) => format!("https://{location}-aiplatform.{ud}"),
            (Service::AutoMl, "us-central1") => format!("https://automl.{ud}"),
            (Service::AutoMl, "eu") => format!("https://eu-automl.{ud}"),
            (Service::AutoMl, _) => {
                return Err(Error::InvalidLocation {
                    location: location.to_owned(),
                    reason: format!(
                        "AutoML is served only in `us-central1` and `eu`, not `{location}`"
                    ),
                });
            }
        };
        Endpoint::parse(&url)
    }

    /// The endpoint serving `target` (its service and location).
    ///
    /// # Errors
    /// As [`EndpointResolver::resolve`].
    pub fn resolve_target(&self, target: &Target) -> Result<Endpoint> {
        self.resolve(target.service(), target.location())
    }
}

/// Why `domain` is not a DNS name of lowercase labels joined by dots, if it is not.
fn domain_problem(domain: &str) -> Option<String> {
    if domain.is_empty() {
        return Some("it is empty".to_owned());
    }
    if domain.len() > 253 {
        return Some(format!("it is {} bytes; the limit is 253", domain.len()));
    }
    if !domain.contains('.') {
        return Some("it has a single label; expected e.g. `googleapis.com`".to_owned());
    }
    domain.split('.').enumerate().find_map(|(index, label)| {
        let well_formed = (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        (!well_formed).then(|| {
            format!(
                "label {} is not 1-63 lowercase letters, digits or inner `-`",
                index + 1
            )
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(service: Service, location: &str) -> String {
        EndpointResolver::new()
            .resolve(service, location)
            .unwrap()
            .to_string()
    }

    fn config_reason(url: &str) -> String {
        match Endpoint::parse(url) {
            Err(Error::InvalidConfig { reason }) => reason,
            other => panic!("{url:?}: expected InvalidConfig, got {other:?}"),
        }
    }

    #[test]
    fn google_table() {
        use Service::{AutoMl, VertexAi};
        let rows = [
            (
                VertexAi,
                "us-central1",
                "https://us-central1-aiplatform.googleapis.com",
            ),
            (
                VertexAi,
                "europe-west4",
                "https://europe-west4-aiplatform.googleapis.com",
            ),
            (VertexAi, "global", "https://aiplatform.googleapis.com"),
            (VertexAi, "us", "https://aiplatform.us.rep.googleapis.com"),
            (VertexAi, "eu", "https://aiplatform.eu.rep.googleapis.com"),
            (AutoMl, "us-central1", "https://automl.googleapis.com"),
            (AutoMl, "eu", "https://eu-automl.googleapis.com"),
        ];
        for (service, location, url) in rows {
            assert_eq!(resolve(service, location), url, "{service} {location}");
        }
        let ep = EndpointResolver::new()
            .resolve(VertexAi, "us-central1")
            .unwrap();
        assert_eq!(ep.host(), "us-central1-aiplatform.googleapis.com");
        assert_eq!(ep.port(), 443);
        assert!(ep.is_tls() && !ep.is_loopback());
    }

    #[test]
    fn automl_serves_only_two_locations() {
        match EndpointResolver::new().resolve(Service::AutoMl, "europe-west4") {
            Err(Error::InvalidLocation { location, reason }) => {
                assert_eq!(location, "europe-west4");
                assert!(reason.contains("`us-central1` and `eu`"), "{reason}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn universe_domain_replaces_googleapis() {
        let resolver = EndpointResolver::new()
            .with_universe_domain("example-cloud.fr")
            .unwrap();
        let ep = resolver
            .resolve(Service::VertexAi, "u-france-east1")
            .unwrap();
        assert_eq!(
            ep.to_string(),
            "https://u-france-east1-aiplatform.example-cloud.fr"
        );
        assert_eq!(
            resolver.resolve(Service::AutoMl, "eu").unwrap().host(),
            "eu-automl.example-cloud.fr"
        );
    }

    #[test]
    fn bad_universe_domains_are_refused() {
        for domain in [
            "",
            "com",
            "Googleapis.com",
            "evil.com/x",
            "evil.com:443",
            "a..com",
            "-a.com",
            "a-.com",
            "évil.com",
            "evil.com.",
            "user@evil.com",
        ] {
            assert!(
                matches!(
                    EndpointResolver::new().with_universe_domain(domain),
                    Err(Error::InvalidConfig { .. })
                ),
                "{domain:?} accepted"
            );
        }
    }

    #[test]
    fn hostile_locations_never_reach_a_host() {
        for location in [
            "us-central1.evil.com",
            "us-central1:443",
            "US-CENTRAL1",
            "evil.com/",
            "",
            "us central1",
            "us-central1@evil",
        ] {
            for service in [Service::VertexAi, Service::AutoMl] {
                assert!(
                    matches!(
                        EndpointResolver::new().resolve(service, location),
                        Err(Error::InvalidLocation { .. })
                    ),
                    "{location:?} accepted for {service}"
                );
            }
        }
    }

    #[test]
    fn region_must_match_the_location() {
        let resolver = EndpointResolver::new().with_region("us-central1").unwrap();
        assert_eq!(resolver.region(), Some("us-central1"));
        assert!(resolver.resolve(Service::VertexAi, "us-central1").is_ok());
        match resolver.resolve(Service::VertexAi, "europe-west4") {
            Err(Error::InvalidLocation { reason, .. }) => {
                assert!(reason.contains("`europe-west4`"), "{reason}");
                assert!(reason.contains("`us-central1`"), "{reason}");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(
            EndpointResolver::new().with_region("us-central1.evil.com"),
            Err(Error::InvalidLocation { .. })
        ));
    }

    #[test]
    fn override_wins_but_locations_and_region_are_still_checked() {
        let fake = Endpoint::parse("http://127.0.0.1:8080").unwrap();
        let resolver = EndpointResolver::new()
            .with_override(fake.clone())
            .with_region("europe-west4")
            .unwrap();
        assert_eq!(resolver.endpoint_override(), Some(&fake));
        assert_eq!(
            resolver.resolve(Service::AutoMl, "europe-west4").unwrap(),
            fake
        );
        assert!(matches!(
            resolver.resolve(Service::VertexAi, "us-central1"),
            Err(Error::InvalidLocation { .. })
        ));
        let open = EndpointResolver::new().with_override(fake.clone());
        assert!(matches!(
            open.resolve(Service::VertexAi, "a.b"),
            Err(Error::InvalidLocation { .. })
        ));
    }

    #[test]
    fn resolve_target_uses_service_and_location() {
        let op: Target = "//automl.googleapis.com/projects/p/locations/eu/operations/1"
            .parse()
            .unwrap();
        let ep = EndpointResolver::new().resolve_target(&op).unwrap();
        assert_eq!(ep.host(), "eu-automl.googleapis.com");
        let job: Target = "projects/p/locations/us/nasJobs/1".parse().unwrap();
        assert_eq!(
            EndpointResolver::default()
                .resolve_target(&job)
                .unwrap()
                .host(),
            "aiplatform.us.rep.googleapis.com"
        );
    }

    #[test]
    fn loopback_plaintext_is_allowed() {
        for (url, host, port) in [
            ("http://127.0.0.2:8080", "127.0.0.2", 8080),
            ("http://localhost:1", "localhost", 1),
            ("http://[::1]:5", "[::1]", 5),
            ("http://127.255.0.1", "127.255.0.1", 80),
            ("http://LOCALHOST:9/", "LOCALHOST", 9),
        ] {
            let ep = Endpoint::parse(url).unwrap();
            assert!(ep.is_loopback() && !ep.is_tls(), "{url}");
            assert_eq!((ep.host(), ep.port()), (host, port));
            assert!(check_plaintext(&ep, true).is_ok());
        }
        assert_eq!(
            Endpoint::parse("https://localhost/").unwrap().to_string(),
            "https://localhost"
        );
    }

    #[test]
    fn plaintext_to_other_hosts_is_insecure() {
        for url in [
            "http://10.0.0.1",
            "http://example.com",
            "http://127.0.0.1.evil.com",
            "http://127.1",
            "http://localhost.evil.com:80",
            "http://[::ffff:127.0.0.1]",
            "http://[::2]:5",
        ] {
            match Endpoint::parse(url) {
                Err(Error::InsecureEndpoint { endpoint, reason }) => {
                    assert!(url.starts_with(&endpoint), "{endpoint}");
                    assert_eq!(reason, PLAINTEXT_REASON);
                }
                other => panic!("{url}: expected InsecureEndpoint, got {other:?}"),
            }
        }
    }

    #[test]
    fn token_rule_states_plaintext_needs_loopback() {
        // Built by hand: `parse` never yields plaintext to a remote host, this checks the rule itself.
        let remote = Endpoint {
            uri: "http://10.0.0.1".parse().unwrap(),
            port: 80,
            tls: false,
            loopback: false,
        };
        assert!(matches!(
            check_plaintext(&remote, true),
            Err(Error::InsecureEndpoint { .. })
        ));
        assert!(check_plaintext(&remote, false).is_ok());
        let tls = Endpoint::parse("https://10.0.0.1:8443").unwrap();
        assert!(check_plaintext(&tls, true).is_ok());
        assert_eq!(tls.port(), 8443);
    }

    #[test]
    fn malformed_endpoints_are_invalid_config() {
        for (url, expected) in [
            ("", "is empty"),
            ("https://user:pw@host", "user info"),
            ("https://user@host", "user info"),
            ("https://host/v1", "has a path"),
            ("https://host/?a=b", "has a query"),
            ("https://host?a=b", "has a query"),
            ("https://host#frag", "fragment"),
            ("ftp://host", "scheme `ftp`"),
            ("host:443", "scheme"),
            ("us-central1-aiplatform.googleapis.com", "no scheme"),
            ("https://", "not a valid URL"),
            ("https://host:99999", "not 1-65535"),
            ("https://host:0", "not 1-65535"),
            ("http://localhost:", "not 1-65535"),
            ("http://localhost:+80", "port"),
            ("https://ho st", "not a valid URL"),
            ("https://host\n", "not a valid URL"),
        ] {
            let reason = config_reason(url);
            assert!(reason.contains(expected), "{url:?}: {reason}");
            assert!(!reason.contains('\n'), "unescaped: {reason}");
        }
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// A plain location id, as `check_location` accepts.
        const LOCATION: &str = "[a-z][a-z0-9-]{0,62}";

        proptest! {
            #[test]
            fn parsing_any_url_never_panics(url in "\\PC*|.*") {
                let _ = Endpoint::parse(&url);
            }

            #[test]
            fn plaintext_is_only_ever_accepted_to_loopback(
                host in "[a-z0-9.:\\[\\]-]{1,40}",
                port in proptest::option::of(1u16..),
            ) {
                let url = match port {
                    Some(port) => format!("http://{host}:{port}"),
                    None => format!("http://{host}"),
                };
                if let Ok(endpoint) = Endpoint::parse(&url) {
                    prop_assert!(endpoint.is_loopback(), "{} accepted", url);
                    prop_assert!(!endpoint.is_tls());
                }
            }

            #[test]
            fn an_accepted_endpoint_prints_back_to_itself(url in "https?://[a-z0-9.-]{1,30}(:[0-9]{1,5})?/?") {
                if let Ok(endpoint) = Endpoint::parse(&url) {
                    let again = Endpoint::parse(&endpoint.to_string()).unwrap();
                    prop_assert_eq!(&again, &endpoint);
                    prop_assert!(endpoint.port() != 0);
                }
            }

            #[test]
            fn any_region_is_a_plain_id_or_refused(region in "\\PC{0,70}|.{0,70}") {
                let plain = region.len() <= 63
                    && region.starts_with(|c: char| c.is_ascii_lowercase())
                    && region.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
                match EndpointResolver::new().with_region(&region) {
                    Ok(_) => prop_assert!(plain, "{:?} accepted", region),
                    Err(err) => {
                        prop_assert!(!plain, "{:?} refused: {}", region, err);
                        prop_assert!(matches!(err, Error::InvalidLocation { .. }), "{:?}", err);
                    }
                }
            }

            #[test]
            fn a_location_only_ever_picks_a_google_host(location in LOCATION) {
                let resolver = EndpointResolver::new().with_region(&location).unwrap();
                let endpoint = resolver.resolve(Service::VertexAi, &location).unwrap();
                prop_assert!(endpoint.is_tls());
                prop_assert_eq!(endpoint.port(), 443);
                let host = endpoint.host();
                let expected = match location.as_str() {
                    "global" => "aiplatform.googleapis.com".to_owned(),
                    "us" | "eu" => format!("aiplatform.{location}.rep.googleapis.com"),
                    _ => format!("{location}-aiplatform.googleapis.com"),
                };
                prop_assert_eq!(host, expected);
                let elsewhere = format!("{location}x");
                prop_assert!(resolver.resolve(Service::VertexAi, &elsewhere).is_err());
            }

            #[test]
            fn a_universe_domain_stays_the_hosts_suffix(
                domain in "[a-z0-9-]{1,20}(\\.[a-z0-9-]{1,20}){1,3}|\\PC{0,30}",
                location in LOCATION,
            ) {
                if let Ok(resolver) = EndpointResolver::new().with_universe_domain(&domain) {
                    let endpoint = resolver.resolve(Service::VertexAi, &location).unwrap();
                    prop_assert!(endpoint.host().ends_with(&format!(".{domain}")), "{}", endpoint);
                    prop_assert!(endpoint.is_tls());
                }
            }
        }
    }
}
