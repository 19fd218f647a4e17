//! The generated tonic clients, wired to the right regional channel with this crate's auth and
//! headers, for RPCs the facade does not wrap (e.g. `BatchCancelPipelineJobs`).
//!
//! Every request then carries `authorization`, `x-goog-api-client` and `x-goog-user-project`,
//! set by [`CallHeaders`]. The routing header names the resource of each request, so it cannot be
//! set once per client: add it per request with [`routing_header`].

use std::fmt;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use tonic::metadata::{AsciiMetadataValue, MetadataMap};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;

use crate::auth::TokenCache;
use crate::channel::GrpcChannel;
use crate::error::Result;
#[cfg(feature = "raw-stubs")]
use crate::name::Service;
#[cfg(feature = "raw-stubs")]
use crate::proto::google::cloud::aiplatform::v1::job_service_client::JobServiceClient;
#[cfg(feature = "raw-stubs")]
use crate::proto::google::cloud::aiplatform::v1::pipeline_service_client::PipelineServiceClient;
#[cfg(feature = "raw-stubs")]
use crate::proto::google::longrunning::operations_client::OperationsClient;

#[cfg(feature = "raw-stubs")]
use super::builder::Client;

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

/// Characters left as they are in `x-goog-request-params` values (RFC 3986 unreserved).
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

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
    // Pushed chunk by chunk rather than through `format!`: this runs on every call.
    let mut text = String::with_capacity(param.len() + 1 + value.len() + value.len() / 2);
    text.extend(utf8_percent_encode(param, UNRESERVED));
    text.push('=');
    text.extend(utf8_percent_encode(value, UNRESERVED));
    // Percent-encoding leaves only unreserved ASCII, always a valid header value.
    let mut header =
        AsciiMetadataValue::try_from(text).expect("percent-encoded text is a valid header");
    // Never HPACK-indexed: a value per resource would churn the connection's header table,
    // evicting the headers that do repeat and making every lookup walk a chain of them.
    header.set_sensitive(true);
    header
}

#[cfg(feature = "raw-stubs")]
impl Client {
    /// The generated `PipelineService` client for `location`, authenticated.
    ///
    /// # Errors
    /// A bad location or endpoint ([`crate::Error::InvalidLocation`], ...), or
    /// [`crate::Error::Auth`] when no token can be had.
    pub async fn pipeline_service(
        &self,
        location: &str,
    ) -> Result<PipelineServiceClient<AuthenticatedChannel>> {
        Ok(PipelineServiceClient::new(
            self.authenticated(Service::VertexAi, location).await?,
        ))
    }

    /// The generated `JobService` client for `location`, authenticated.
    ///
    /// # Errors
    /// As [`pipeline_service`](Self::pipeline_service).
    pub async fn job_service(
        &self,
        location: &str,
    ) -> Result<JobServiceClient<AuthenticatedChannel>> {
        Ok(JobServiceClient::new(
            self.authenticated(Service::VertexAi, location).await?,
        ))
    }

    /// The generated `google.longrunning.Operations` client of `service` for `location`.
    ///
    /// # Errors
    /// As [`pipeline_service`](Self::pipeline_service).
    pub async fn operations(
        &self,
        service: Service,
        location: &str,
    ) -> Result<OperationsClient<AuthenticatedChannel>> {
        Ok(OperationsClient::new(
            self.authenticated(service, location).await?,
        ))
    }

    /// The regional channel with the header interceptor; waits for a first token if needed, so
    /// the caller's first request does not fail for want of one.
    async fn authenticated(
        &self,
        service: Service,
        location: &str,
    ) -> Result<AuthenticatedChannel> {
        let route = self.route(service, location)?;
        self.inner.headers.tokens.authorization().await?;
        Ok(InterceptedService::new(
            route.channel.clone(),
            self.inner.headers.clone(),
        ))
    }
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
    fn routing_header_is_url_encoded() {
        let header = routing_header("name", "projects/p/locations/us-central1/pipelineJobs/a b");
        assert_eq!(
            header.to_str().unwrap(),
            "name=projects%2Fp%2Flocations%2Fus-central1%2FpipelineJobs%2Fa%20b"
        );
    }
}
