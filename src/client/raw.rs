//! The generated tonic clients, wired to the right regional channel with this crate's auth and
//! headers, for RPCs the facade does not wrap (e.g. `BatchCancelPipelineJobs`).
//!
//! Every request then carries `authorization`, `x-goog-api-client` and `x-goog-user-project`,
//! set by [`CallHeaders`](super::CallHeaders). The routing header names the resource of each
//! request, so it cannot be set once per client: add it per request with
//! [`routing_header`](super::routing_header).

use tonic::service::interceptor::InterceptedService;

use crate::error::Result;
use crate::name::Service;
use crate::proto::google::cloud::aiplatform::v1::job_service_client::JobServiceClient;
use crate::proto::google::cloud::aiplatform::v1::pipeline_service_client::PipelineServiceClient;
use crate::proto::google::longrunning::operations_client::OperationsClient;

use super::handle::Client;
use super::headers::AuthenticatedChannel;

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
