//! The headers every call carries: [`CallHeaders`] (`authorization`, `x-goog-api-client`,
//! `x-goog-user-project`), set by the call path and by the generated stubs' interceptor alike,
//! and [`routing_header`], the per-request `x-goog-request-params` Google routes by.

use std::fmt;

use percent_encoding::percent_encode_byte;
use tonic::metadata::{AsciiMetadataValue, MetadataMap};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;

use crate::auth::TokenCache;
use crate::channel::GrpcChannel;

/// A regional channel that adds this crate's auth and headers to every request.
pub type AuthenticatedChannel = InterceptedService<GrpcChannel, CallHeaders>;

/// The headers every call carries except the routing header: `authorization`,
/// `x-goog-api-client` and, when a quota project is set, `x-goog-user-project`.
#[derive(Clone)]
pub struct CallHeaders {
    pub(crate) tokens: TokenCache,
    pub(crate) api_client: AsciiMetadataValue,
    pub(crate) user_project: Option<AsciiMetadataValue>,
}

impl CallHeaders {
    /// Sets the headers, with `token` as the `authorization` value when there is one.
    pub(crate) fn apply(&self, headers: &mut MetadataMap, token: Option<AsciiMetadataValue>) {
        if let Some(token) = token {
            headers.insert("authorization", token);
        }
        headers.insert("x-goog-api-client", self.api_client.clone());
        if let Some(project) = &self.user_project {
            headers.insert("x-goog-user-project", project.clone());
        }
    }
}

impl fmt::Debug for CallHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallHeaders")
            .field("tokens", &self.tokens)
            .field("user_project", &self.user_project)
            .finish_non_exhaustive()
    }
}

impl Interceptor for CallHeaders {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        // tonic interceptors are synchronous: read the token the refresh task keeps ready.
        let token = self
            .tokens
            .current()
            .map_err(|e| tonic::Status::unauthenticated(e.to_string()))?;
        self.apply(request.metadata_mut(), token);
        Ok(request)
    }
}

/// Percent-encodes `text` onto `out`, leaving RFC 3986's unreserved characters as they are.
///
/// Byte by byte rather than through `utf8_percent_encode`'s iterator of chunks: this runs on
/// every call, and a resource name breaks into a chunk at every `/` (the profile put the
/// iterator at about 900 instructions a call, this loop at a third of that). Encoding UTF-8
/// byte by byte is what `utf8_percent_encode` does too.
fn encode_into(out: &mut String, text: &str) {
    for &byte in text.as_bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(percent_encode_byte(byte));
        }
    }
}

/// The `x-goog-request-params` value Google routes regional calls by, e.g.
/// `routing_header("name", "projects/p/locations/us-central1/pipelineJobs/j")`.
///
/// # Example
#[cfg_attr(feature = "raw-stubs", doc = "```no_run")]
#[cfg_attr(not(feature = "raw-stubs"), doc = "```ignore")]
/// # async fn demo(client: vertex_cancel::Client) -> Result<(), Box<dyn std::error::Error>> {
/// use vertex_cancel::client::routing_header;
/// use vertex_cancel::proto::google::cloud::aiplatform::v1::BatchCancelPipelineJobsRequest;
///
/// let parent = "projects/p/locations/us-central1";
/// let mut stub = client.pipeline_service("us-central1").await?;
/// let mut request = tonic::Request::new(BatchCancelPipelineJobsRequest {
///     parent: parent.into(),
///     names: vec![format!("{parent}/pipelineJobs/a")],
/// });
/// request.metadata_mut().insert("x-goog-request-params", routing_header("parent", parent));
/// stub.batch_cancel_pipeline_jobs(request).await?;
/// # Ok(())
/// # }
/// ```
pub fn routing_header(param: &str, value: &str) -> AsciiMetadataValue {
    // Room for a name's `/`s, each three bytes once encoded, so the text is allocated once.
    let mut text = String::with_capacity(param.len() + 1 + value.len() + value.len() / 2);
    encode_into(&mut text, param);
    text.push('=');
    encode_into(&mut text, value);
    // Percent-encoding leaves only unreserved ASCII, always a valid header value.
    let mut header =
        AsciiMetadataValue::try_from(text).expect("percent-encoded text is a valid header");
    // Never HPACK-indexed: a value per resource would churn the connection's header table,
    // evicting the headers that do repeat and making every lookup walk a chain of them.
    header.set_sensitive(true);
    header
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routing_header_never_panics_on_odd_input() {
        let header = routing_header("na\nme é", "\0\r\n");
        assert_eq!(header.to_str().unwrap(), "na%0Ame%20%C3%A9=%00%0D%0A");
    }

    #[test]
    fn routing_header_encodes_as_the_percent_encoding_crate_does() {
        use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
        const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
            .remove(b'-')
            .remove(b'.')
            .remove(b'_')
            .remove(b'~');
        let unreserved = UNRESERVED;
        let samples = [
            "projects/p-1/locations/us-central1/pipelineJobs/j_2.x~y",
            "projects/123/locations/europe-west4/operations/456",
            "a b%c+d&e=f?g#h[i]j@k!l$m'n(o)p*q,r;s:t",
            "é€😀\u{7f}\u{80}",
            "",
        ];
        for value in samples {
            let expected = format!("name={}", utf8_percent_encode(value, unreserved));
            assert_eq!(routing_header("name", value).to_str().unwrap(), expected);
        }
        for byte in 0..=u8::MAX {
            let Ok(text) = std::str::from_utf8(std::slice::from_ref(&byte)) else {
                continue;
            };
            let expected = format!("k={}", utf8_percent_encode(text, unreserved));
            assert_eq!(routing_header("k", text).to_str().unwrap(), expected);
        }
    }

    #[test]
    fn routing_header_is_url_encoded() {
        let header = routing_header("name", "projects/p/locations/us-central1/pipelineJobs/a b");
        assert_eq!(
            header.to_str().unwrap(),
            "name=projects%2Fp%2Flocations%2Fus-central1%2FpipelineJobs%2Fa%20b"
        );
    }
}
