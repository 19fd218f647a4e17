//! `google.cloud.location.Locations/ListLocations`: the locations Vertex AI serves for a
//! project, which is what "every location" means to a sweep.
//!
//! Vertex AI serves this mixin on its global endpoint (`aiplatform.googleapis.com`), so the call
//! is routed as location `global`; with an endpoint override it goes to the override, like every
//! other call.

use futures::{Stream, StreamExt, TryStreamExt};

use crate::channel::GrpcChannel;
use crate::error::{Error, Result};
use crate::escape::printable;
use crate::name::{LocationName, Service, check_location};
use crate::wire::google::cloud::location::{
    ListLocationsRequest, ListLocationsResponse, Location, locations_client::LocationsClient,
};

use super::call::Rpc;
use super::handle::Client;
use super::kinds::{Answer, LIST_PAGE_SIZE, Page};

/// The ListLocations RPC.
static LIST_LOCATIONS: Rpc = Rpc {
    service: "google.cloud.location.Locations",
    method: "ListLocations",
};

/// The location whose endpoint serves ListLocations.
const LOCATIONS_HOME: &str = "global";

impl Page for ListLocationsRequest {
    type Item = Location;
    type Response = ListLocationsResponse;
    const RPC: &'static Rpc = &LIST_LOCATIONS;
    const PARAM: &'static str = "name";
    fn first(name: String, filter: String) -> Self {
        Self {
            name,
            filter,
            page_size: LIST_PAGE_SIZE,
            page_token: String::new(),
        }
    }
    fn resource(&self) -> &str {
        &self.name
    }
    fn with_page_token(self, page_token: String) -> Self {
        Self { page_token, ..self }
    }
    fn split(response: Self::Response) -> (Vec<Self::Item>, String) {
        (response.locations, response.next_page_token)
    }
    fn send(channel: GrpcChannel, request: tonic::Request<Self>) -> Answer<Self::Response> {
        Box::pin(async move { LocationsClient::new(channel).list_locations(request).await })
    }
}

impl Client {
    /// The location ids (`us-central1`, ...) Vertex AI serves for `project`, page after page,
    /// from ListLocations on the global endpoint (or the endpoint override).
    ///
    /// A location id the server sends is checked like one given by hand (it becomes part of a
    /// host name): one that is not a plain location id ends the stream with
    /// [`Error::InvalidResponse`].
    ///
    /// # Errors
    /// [`Error::InvalidName`] for a project that is not a valid name segment (nothing sent).
    pub fn list_locations(
        &self,
        project: &str,
    ) -> Result<impl Stream<Item = Result<String>> + Send + 'static> {
        // Checks the project as a name segment, as any other parent's.
        LocationName::new(project, LOCATIONS_HOME)?;
        let first = ListLocationsRequest::first(format!("projects/{project}"), String::new());
        let listed = self.list_from(Service::VertexAi, LOCATIONS_HOME, first, None, None);
        let ids = listed.and_then(|location| {
            let id = location.location_id;
            let checked =
                check_location(&id)
                    .map(|()| id.clone())
                    .map_err(|_| Error::InvalidResponse {
                        reason: format!(
                            "ListLocations named `{}`, which is not a location id",
                            printable(&id)
                        ),
                    });
            std::future::ready(checked)
        });
        // An error ends the stream: after a bad answer nothing later in it is trusted.
        Ok(ids.scan(false, |failed, item| {
            let end = *failed;
            *failed |= item.is_err();
            std::future::ready((!end).then_some(item))
        }))
    }
}
