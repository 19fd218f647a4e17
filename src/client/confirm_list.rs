//! The List a confirmation round may send for a group of targets sharing a parent, kept
//! cheaper than the Gets it replaces.
//!
//! Vertex AI counts Get and List against the same per-region quota, so a List is a saving only
//! while it costs fewer calls than one Get per pending target, and a project holds years of
//! finished jobs: unbounded, a List pages through all of them. So the List is bounded by an
//! `update_time` window opening shortly before the group's earliest cancel. Cancelling a job
//! moves its `update_time`; its `create_time` stays as old as the job, so a `create_time`
//! window would miss a job created long ago and cancelled now. A kind whose List does not
//! document `update_time` (every kind but pipeline jobs) cannot be bounded and is confirmed by
//! Get. The window is not narrowed by state: members still CANCELLING are listed too, which is
//! what lets paging stop as soon as every member is found.
//!
//! Within the window the List asks only for what a confirmation reads (`read_mask`, where the
//! request has one), in pages the size of the group, stops once every member is found, and
//! stops before reading more items than the group has pending members: past that, the Gets
//! are cheaper.
//!
//! The same List bounded by the members' ids instead (`pipeline_job_user_id`, which
//! ListPipelineJobs documents) reads back the jobs of a batch sent without a wait (`batch.rs`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::TryStreamExt;
use tokio::time::Instant;

use crate::error::Result;
use crate::name::{Service, Target, TargetKind};
use crate::outcome::TargetStatus;

use super::call::RegionLimiter;
use super::filter::updated_since;
use super::handle::Client;
use super::kinds::{Kind, LIST_PAGE_SIZE, TargetList, with_kind};

/// How long before the group's earliest cancel the window opens: room for this machine's
/// clock to run ahead of Google's. A member the window still misses is read by Get.
pub(crate) const CLOCK_SKEW_ALLOWANCE: Duration = Duration::from_secs(60);

/// The fields a confirmation reads of each listed resource.
const CONFIRM_FIELDS: &[&str] = &["name", "state", "error", "update_time"];

/// One group's List in one round (or one batch's read-back).
pub(crate) struct MemberList<'a> {
    pub(crate) kind: TargetKind,
    pub(crate) service: Service,
    pub(crate) location: &'a str,
    pub(crate) parent: &'a str,
    /// What bounds the List: [`updated_window`], or the members' ids ([`ids_filter`]).
    pub(crate) filter: String,
    /// The members sought, by id.
    pub(crate) members: &'a HashMap<&'a str, &'a Target>,
    /// The calls a Get per pending member would cost: the List reads no more items, and
    /// sends no more pages, than this.
    pub(crate) budget: usize,
    pub(crate) limiter: Option<&'a Arc<RegionLimiter>>,
}

/// What one group's List found.
#[derive(Debug, Default)]
pub(crate) struct Listed {
    /// The members found, by id.
    pub(crate) found: HashMap<String, TargetStatus>,
    /// The pages read: one call each.
    pub(crate) pages: usize,
    /// Whether the window was read to its end, so that a member not found is outside it.
    pub(crate) complete: bool,
}

/// Whether a group of `kind` can be confirmed by a bounded List.
pub(crate) fn can_list(kind: TargetKind) -> bool {
    with_kind!(kind, K => <<K as Kind>::List as TargetList>::FILTERS_UPDATE_TIME)
}

/// The window of a group whose earliest cancel was sent at `since` (this machine's clock):
/// opened [`CLOCK_SKEW_ALLOWANCE`] earlier.
pub(crate) fn updated_window(since: SystemTime) -> String {
    updated_since(since.checked_sub(CLOCK_SKEW_ALLOWANCE).unwrap_or(since))
}

/// The wall-clock time of `at`, a moment in the past; `None` if it cannot be told.
pub(crate) fn wall_time(at: Instant) -> Option<SystemTime> {
    SystemTime::now().checked_sub(Instant::now().saturating_duration_since(at))
}

impl Client {
    /// Lists the members of one group within its window, as [`MemberList`] bounds it.
    pub(crate) async fn list_members(&self, list: MemberList<'_>) -> Result<Listed> {
        with_kind!(list.kind, K => self.list_members_of::<<K as Kind>::List>(list).await)
    }

    async fn list_members_of<Req: TargetList>(&self, list: MemberList<'_>) -> Result<Listed> {
        let most = usize::try_from(LIST_PAGE_SIZE).unwrap_or(1);
        let page_size = list.budget.clamp(1, most);
        let first = Req::first(list.parent.to_owned(), list.filter)
            .shaped(i32::try_from(page_size).unwrap_or(1), CONFIRM_FIELDS);
        let limiter = list.limiter.cloned();
        let pages = self.list_pages(list.service, list.location, first, limiter, None);
        let mut pages = std::pin::pin!(pages);
        let mut listed = Listed::default();
        let mut items = 0;
        while listed.found.len() < list.members.len()
            && items < list.budget
            && listed.pages < list.budget
        {
            let Some((page, more)) = pages.try_next().await? else {
                listed.complete = true;
                break;
            };
            listed.pages += 1;
            items += page.len();
            for status in page.into_iter().map(Into::<TargetStatus>::into) {
                // Only an item named as a member is its state: a server may list more than
                // its filter selects, and spell the project by number.
                let Ok(reported) = status.raw.name().parse::<Target>() else {
                    continue;
                };
                let member = list.members.get(reported.id());
                if member.is_some_and(|member| member.is_named_by(&reported)) {
                    listed.found.insert(reported.id().to_owned(), status);
                }
            }
            if !more {
                listed.complete = true;
                break;
            }
        }
        Ok(listed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_lists_documenting_update_time_confirm() {
        // ListPipelineJobs documents `update_time`; every other List documents `create_time`
        // at most (ListTuningJobs and ListOperations: "the standard list filter").
        for kind in TargetKind::ALL {
            assert_eq!(can_list(kind), kind == TargetKind::PipelineJob, "{kind}");
        }
    }

    #[test]
    fn a_moment_past_is_told_in_wall_time() {
        let minute = Duration::from_secs(60);
        let Some(then) = Instant::now().checked_sub(minute) else {
            return; // a machine up for less than a minute
        };
        let wall = wall_time(then).unwrap();
        let ago = SystemTime::now().duration_since(wall).unwrap();
        assert!(ago >= minute && ago < minute * 2, "{ago:?}");
    }
}
