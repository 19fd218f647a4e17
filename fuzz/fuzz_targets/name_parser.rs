//! Any bytes as a resource name: parsing never panics, a parsed name prints back to itself, and
//! the host a parsed name resolves to is always the Google endpoint its location names (a hostile
//! name must never redirect a token to another host).

#![no_main]

use libfuzzer_sys::fuzz_target;
use vertex_cancel::{EndpointResolver, Service, Target};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(target) = text.parse::<Target>() else {
        return;
    };
    let shown = target.to_string();
    let again: Target = shown.parse().expect("a parsed name's Display parses");
    assert_eq!(again, target, "round trip of {text:?}");
    assert_eq!(again.to_string(), shown);

    let location = target.location();
    let expected = match (target.service(), location) {
        (Service::VertexAi, "global") => "aiplatform.googleapis.com".to_owned(),
        (Service::VertexAi, "us" | "eu") => format!("aiplatform.{location}.rep.googleapis.com"),
        (Service::VertexAi, _) => format!("{location}-aiplatform.googleapis.com"),
        (Service::AutoMl, "us-central1") => "automl.googleapis.com".to_owned(),
        (Service::AutoMl, "eu") => "eu-automl.googleapis.com".to_owned(),
        (Service::AutoMl, _) => {
            assert!(EndpointResolver::new().resolve_target(&target).is_err());
            return;
        }
    };
    let endpoint = EndpointResolver::new()
        .resolve_target(&target)
        .expect("a parsed name resolves");
    assert!(endpoint.is_tls(), "{endpoint}");
    assert_eq!(endpoint.port(), 443, "{endpoint}");
    assert_eq!(endpoint.host(), expected, "{text:?}");
});
