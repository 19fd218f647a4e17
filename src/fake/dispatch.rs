//! The one request path every served RPC goes through, and the generic cancel / get / list /
//! delete logic the three services share.
//!
//! Order inside a call, as on Google's front end: injected delay, auth, injected fault, then the
//! method; the call is logged whatever happens. Keeping it in one place is what lets the three
//! service impls stay one-liners.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tonic::{Code, Request, Response, Status};
use tonic_types::{ErrorDetails, StatusExt};

use super::calllog::CallLog;
use super::deadline::{CallDeadline, deadline_exceeded};
use super::faults::{ArmedFault, ERROR_DOMAIN, FaultPlan, error_info_metadata};
use super::filter::Filter;
use super::names::{ResourceKind, check_parent, parse_name_of};
use super::order::Order;
use super::rpc::Rpc;
use super::state::{CancelRefused, FakeState, ListOrder, Page, StateEnum, View};
use crate::name::segment_problem;
use crate::wire::google::cloud::location::{ListLocationsRequest, ListLocationsResponse, Location};

/// The page size when a List asks for none (0).
pub const DEFAULT_PAGE_SIZE: usize = 100;
/// The largest page a List returns, whatever it asks for.
pub const MAX_PAGE_SIZE: usize = 1000;
/// The longest a WaitOperation waits (for one without a `timeout`, or a longer one): Google's
/// is server-defined, and the call's deadline ends the wait sooner.
pub const MAX_OPERATION_WAIT: Duration = Duration::from_secs(60);
/// How often a WaitOperation reads its operation again.
const WAIT_POLL: Duration = Duration::from_millis(10);

/// Everything a served call needs: the resources, the configuration and the log.
pub(crate) struct Core {
    pub(crate) store: FakeState,
    pub(crate) token: Option<String>,
    pub(crate) cancel_delay: Duration,
    pub(crate) faults: Vec<ArmedFault>,
    pub(crate) log: Arc<CallLog>,
    /// Lists return every resource under the parent, whatever their filter selects.
    pub(crate) lists_ignore_filter: bool,
}

impl fmt::Debug for Core {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Core")
            .field("resources", &self.store.len())
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .field("cancel_delay", &self.cancel_delay)
            .field("faults", &self.faults)
            .finish_non_exhaustive()
    }
}

/// The query of a List, whichever service it came to.
#[derive(Debug)]
pub(crate) struct ListQuery<'a> {
    pub(crate) kind: ResourceKind,
    /// `parent` (jobs) or `name` (operations): the proto field holding the owner.
    pub(crate) parent_field: &'static str,
    pub(crate) parent: &'a str,
    pub(crate) filter: &'a str,
    /// `order_by`, or "" where the request has none.
    pub(crate) order_by: &'a str,
    pub(crate) page_size: i32,
    pub(crate) page_token: &'a str,
}

impl Core {
    /// Serves one call: logs it, applies faults and auth, then runs `method`.
    pub(crate) async fn serve<Q, R>(
        &self,
        rpc: Rpc,
        request: Request<Q>,
        target: fn(&Q) -> &str,
        method: impl FnOnce(&Self, Q) -> Result<R, Status>,
    ) -> Result<Response<R>, Status> {
        let method = |core: &Self, q| std::future::ready(method(core, q));
        self.serve_async(rpc, request, target, method).await
    }

    /// As [`Core::serve`], for a method that waits (WaitOperation): the call's deadline and the
    /// injected delay bound it the same way.
    pub(crate) async fn serve_async<'a, Q, R, F>(
        &'a self,
        rpc: Rpc,
        request: Request<Q>,
        target: fn(&Q) -> &str,
        method: impl FnOnce(&'a Self, Q) -> F,
    ) -> Result<Response<R>, Status>
    where
        F: Future<Output = Result<R, Status>> + 'a,
    {
        let target = target(request.get_ref()).to_owned();
        let deadline = CallDeadline::of(request.metadata(), request.extensions().get());
        let guard = self.log.begin(
            rpc,
            &target,
            request.metadata(),
            deadline.map(|d| d.timeout),
            request.remote_addr(),
        );
        let resource_faults = self.store.faults_of(&target);
        let plan = FaultPlan::for_call(
            rpc,
            self.faults
                .iter()
                .filter(|f| f.names(&target))
                .chain(resource_faults.iter().flat_map(|f| f.iter())),
        );
        let answer = async {
            if !plan.delay.is_zero() {
                tokio::time::sleep(plan.delay).await;
            }
            self.authorize(rpc, request.metadata())?;
            if let Some(error) = plan.error {
                return Err(error);
            }
            method(self, request.into_inner()).await
        };
        let result = match deadline.and_then(|d| d.give_up_at) {
            Some(at) => tokio::time::timeout_at(at.into(), answer)
                .await
                .unwrap_or_else(|_| Err(deadline_exceeded())),
            None => answer.await,
        };
        guard.finish(result.as_ref().map_or_else(Status::code, |_| Code::Ok));
        result.map(Response::new)
    }

    /// Checks the bearer token, when one is required, with Google's reasons.
    fn authorize(&self, rpc: Rpc, metadata: &tonic::metadata::MetadataMap) -> Result<(), Status> {
        let Some(token) = &self.token else {
            return Ok(());
        };
        let mut values = metadata.get_all("authorization").iter();
        let Some(value) = values.next() else {
            return Err(unauthenticated(
                rpc,
                "CREDENTIALS_MISSING",
                "Request is missing required authentication credential. Expected OAuth 2 access \
                 token, login cookie or other valid authentication credential.",
            ));
        };
        // Two credentials are ambiguous: which one the call runs as must never be a guess, so
        // a second `authorization` is refused even when the first is right.
        let single = values.next().is_none();
        let presented = value
            .to_str()
            .ok()
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t);
        if single && presented == Some(token.as_str()) {
            Ok(())
        } else {
            Err(unauthenticated(
                rpc,
                "ACCESS_TOKEN_TYPE_UNSUPPORTED",
                "Request had invalid authentication credentials. Expected OAuth 2 access token, \
                 login cookie or other valid authentication credential.",
            ))
        }
    }

    /// Cancel of any kind.
    pub(crate) fn cancel(&self, kind: ResourceKind, name: &str) -> Result<(), Status> {
        check_name(kind, name)?;
        self.store
            .cancel(name, self.cancel_delay, Instant::now())
            .map_err(|refused| match refused {
                CancelRefused::NotFound => not_found(kind, name),
                CancelRefused::Finished(state) => error(
                    Code::FailedPrecondition,
                    format!(
                        "{} {name} cannot be cancelled: it is already {}.",
                        kind.message_name(),
                        state_label(kind, state)
                    ),
                ),
            })
    }

    /// Get of any kind.
    pub(crate) fn get(&self, kind: ResourceKind, name: &str) -> Result<View, Status> {
        check_name(kind, name)?;
        self.store
            .view(name, Instant::now())
            .ok_or_else(|| not_found(kind, name))
    }

    /// WaitOperation: the operation once it is done, or as it is when `timeout` (at most
    /// [`MAX_OPERATION_WAIT`]) has passed; the call's own deadline ends it sooner.
    pub(crate) async fn wait_operation(
        &self,
        name: &str,
        timeout: Option<Duration>,
    ) -> Result<View, Status> {
        let until =
            Instant::now() + timeout.map_or(MAX_OPERATION_WAIT, |t| t.min(MAX_OPERATION_WAIT));
        loop {
            let view = self.get(ResourceKind::Operation, name)?;
            let now = Instant::now();
            if view.state.is_terminal() || now >= until {
                return Ok(view);
            }
            // States are computed when read, so the operation is read again, not notified.
            tokio::time::sleep((until - now).min(WAIT_POLL)).await;
        }
    }

    /// DeleteOperation.
    pub(crate) fn delete(&self, kind: ResourceKind, name: &str) -> Result<(), Status> {
        check_name(kind, name)?;
        if self.store.remove(name) {
            Ok(())
        } else {
            Err(not_found(kind, name))
        }
    }

    /// List of any kind; returns the page and the next page token ("" on the last page).
    pub(crate) fn list(&self, q: &ListQuery<'_>) -> Result<(Vec<View>, String), Status> {
        check_parent(q.kind, q.parent).map_err(|reason| bad_request(q.parent_field, reason))?;
        let filter = Filter::parse(q.kind, q.filter).map_err(|r| bad_request("filter", r))?;
        let order = Order::parse(q.kind, q.order_by).map_err(|r| bad_request("order_by", r))?;
        let limit = page_limit(q.page_size)?;
        let after = match q.page_token {
            "" => None,
            token => Some(
                token
                    .starts_with(q.parent)
                    .then(|| order.read_token(token))
                    .flatten()
                    .ok_or_else(|| {
                        bad_request("page_token", "not a page token of this List".into())
                    })?,
            ),
        };
        let query = ListOrder {
            order: &order,
            after: after.as_ref(),
            limit,
        };
        let ids = filter.only_ids().filter(|_| !self.lists_ignore_filter);
        let Page { items, more, last } = self.store.list(
            q.kind,
            q.parent,
            query,
            ids,
            |subject| self.lists_ignore_filter || filter.matches(subject),
            Instant::now(),
        );
        // The token is where the last item returned sits: stable under inserts and deletes
        // between pages.
        let next = match last {
            Some(last) if more => order.token(&last),
            _ => String::new(),
        };
        Ok((items, next))
    }
}

/// The most pipeline jobs one BatchCancelPipelineJobs may name.
const MAX_BATCH_CANCEL: usize = 32;

impl Core {
    /// BatchCancelPipelineJobs: checks the request as Google documents it (a location `parent`,
    /// 1 to 32 pipeline job names under it), then cancels through the store; returns the
    /// operation as it is now.
    pub(crate) fn batch_cancel(&self, parent: &str, names: &[String]) -> Result<View, Status> {
        check_parent(ResourceKind::PipelineJob, parent)
            .map_err(|reason| bad_request("parent", reason))?;
        if names.is_empty() || names.len() > MAX_BATCH_CANCEL {
            return Err(bad_request(
                "names",
                format!(
                    "{} names given; a batch names 1 to {MAX_BATCH_CANCEL} PipelineJobs",
                    names.len()
                ),
            ));
        }
        for name in names {
            let parsed = parse_name_of(ResourceKind::PipelineJob, name)
                .map_err(|reason| bad_request("names", reason))?;
            if parsed.parent != parent {
                return Err(bad_request(
                    "names",
                    format!("{name:?} is not under the parent {parent:?}"),
                ));
            }
        }
        let mut unique = names.to_vec();
        unique.sort_unstable();
        unique.dedup();
        let now = Instant::now();
        let operation = self
            .store
            .batch_cancel(parent, &unique, self.cancel_delay, now);
        self.store
            .view(&operation, now)
            .ok_or_else(|| error(Code::Internal, "the batch operation vanished"))
    }

    /// ListLocations for `projects/{project}`: the locations of its resources plus the added
    /// ones, in order, paged; the token is the last location returned.
    pub(crate) fn list_locations(
        &self,
        q: &ListLocationsRequest,
    ) -> Result<ListLocationsResponse, Status> {
        let project = q
            .name
            .strip_prefix("projects/")
            .filter(|p| segment_problem(p).is_none())
            .ok_or_else(|| {
                bad_request(
                    "name",
                    format!("{:?} is not a project (projects/*)", q.name),
                )
            })?;
        if !q.filter.trim().is_empty() {
            return Err(bad_request(
                "filter",
                "the fake lists locations without a filter".into(),
            ));
        }
        let limit = page_limit(q.page_size)?;
        let mut locations: Vec<String> = self
            .store
            .locations_of(project)
            .into_iter()
            .filter(|l| q.page_token.is_empty() || *l > q.page_token)
            .collect();
        let more = locations.len() > limit;
        locations.truncate(limit);
        let next = match locations.last() {
            Some(last) if more => last.clone(),
            _ => String::new(),
        };
        let locations = locations
            .into_iter()
            .map(|id| Location {
                name: format!("projects/{project}/locations/{id}"),
                location_id: id,
                ..Location::default()
            })
            .collect();
        Ok(ListLocationsResponse {
            locations,
            next_page_token: next,
        })
    }
}

/// How many items a List with `page_size` gets.
fn page_limit(page_size: i32) -> Result<usize, Status> {
    match usize::try_from(page_size) {
        Ok(0) => Ok(DEFAULT_PAGE_SIZE),
        Ok(n) => Ok(n.min(MAX_PAGE_SIZE)),
        Err(_) => Err(bad_request("page_size", "must not be negative".into())),
    }
}

fn check_name(kind: ResourceKind, name: &str) -> Result<(), Status> {
    parse_name_of(kind, name)
        .map(|_| ())
        .map_err(|reason| bad_request("name", reason))
}

/// How Google spells a state in messages: the full enum name for jobs.
fn state_label(kind: ResourceKind, state: crate::State) -> String {
    match StateEnum::of(kind) {
        StateEnum::Operation => "done".to_owned(),
        family => format!("{}{state}", family.prefix()),
    }
}

/// A status carrying its `google.rpc.Status` (and `details`) in `grpc-status-details-bin`.
pub(crate) fn error(code: Code, message: impl Into<String>) -> Status {
    Status::with_error_details(code, message, ErrorDetails::new())
}

fn not_found(kind: ResourceKind, name: &str) -> Status {
    error(
        Code::NotFound,
        format!("{} {name} not found.", kind.message_name()),
    )
}

pub(crate) fn bad_request(field: &str, reason: String) -> Status {
    let message = format!("Invalid {field}: {reason}");
    Status::with_error_details(
        Code::InvalidArgument,
        message,
        ErrorDetails::with_bad_request_violation(field, reason),
    )
}

fn unauthenticated(rpc: Rpc, reason: &str, message: &str) -> Status {
    let details = {
        let mut d = ErrorDetails::new();
        d.set_error_info(reason, ERROR_DOMAIN, error_info_metadata(rpc));
        d
    };
    Status::with_error_details(Code::Unauthenticated, message, details)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_token() {
        let core = Core {
            store: FakeState::new(),
            token: Some("ya29.secret".into()),
            cancel_delay: Duration::ZERO,
            faults: Vec::new(),
            log: Arc::new(CallLog::default()),
            lists_ignore_filter: false,
        };
        let shown = format!("{core:?}");
        assert!(!shown.contains("ya29"), "{shown}");
        assert!(shown.contains("[redacted]"));
    }
}
