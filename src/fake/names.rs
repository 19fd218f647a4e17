//! The fake's own reading of resource names, as Google's server validates them.
//!
//! The structure (which collections, how many segments, what a List parent is) is read here,
//! not by the client's parser: the fake models the server, and a client bug in putting names
//! together must show up as the server's INVALID_ARGUMENT. What a valid id, location and
//! collection is, though, has one home, [`crate::name`]: both sides apply the same rules, so
//! the client refuses before sending exactly what the fake would refuse (a unit test below
//! checks the two agree on every name).

use std::fmt;

use crate::TargetKind;
use crate::name::{
    MAX_NAME_LEN, collection_problem, id_problem, location_problem, segment_problem,
};

/// The kind of resource a name denotes; it decides which RPCs accept the name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ResourceKind {
    /// `projects/{p}/locations/{l}/pipelineJobs/{id}`.
    PipelineJob,
    /// `projects/{p}/locations/{l}/nasJobs/{id}`.
    NasJob,
    /// `projects/{p}/locations/{l}/operations/{id}` or nested under another resource.
    Operation,
}

impl ResourceKind {
    /// The message name, as Google's error messages use it (`PipelineJob`, ...).
    pub(crate) fn message_name(self) -> &'static str {
        match self {
            Self::PipelineJob => "PipelineJob",
            Self::NasJob => "NasJob",
            Self::Operation => "Operation",
        }
    }

    /// The client's word for this kind, whose id rule the fake applies.
    fn target_kind(self) -> TargetKind {
        match self {
            Self::PipelineJob => TargetKind::PipelineJob,
            Self::NasJob => TargetKind::NasJob,
            Self::Operation => TargetKind::Operation,
        }
    }

    /// The pattern of a name of this kind, for error messages.
    fn pattern(self) -> &'static str {
        match self {
            Self::PipelineJob => "projects/*/locations/*/pipelineJobs/*",
            Self::NasJob => "projects/*/locations/*/nasJobs/*",
            Self::Operation => "projects/*/locations/*/[.../]operations/*",
        }
    }
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message_name())
    }
}

/// A well-formed resource name: its kind and the resource that owns it (what List lists under).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ParsedName<'a> {
    pub(crate) kind: ResourceKind,
    pub(crate) parent: &'a str,
}

/// Reads a resource name of any served kind.
///
/// # Errors
/// A reason, fit for a `BadRequest` field violation, when the name is malformed.
pub(crate) fn parse_name(name: &str) -> Result<ParsedName<'_>, String> {
    let segments = owner_segments(name, 6)?;
    let collection = segments[segments.len() - 2];
    let kind = match (collection, segments.len()) {
        ("pipelineJobs", 6) => ResourceKind::PipelineJob,
        ("nasJobs", 6) => ResourceKind::NasJob,
        ("operations", _) => ResourceKind::Operation,
        _ => {
            return Err(format!(
                "{name:?} is not a pipeline job, NAS job or operation name"
            ));
        }
    };
    let id = segments[segments.len() - 1];
    if let Some(problem) = id_problem(kind.target_kind(), id) {
        return Err(format!("{name:?}: {problem}"));
    }
    let parent_len = name.len() - id.len() - collection.len() - 2;
    Ok(ParsedName {
        kind,
        parent: &name[..parent_len],
    })
}

/// Reads a name that must be of `kind`, as the RPCs for `kind` require.
pub(crate) fn parse_name_of(kind: ResourceKind, name: &str) -> Result<ParsedName<'_>, String> {
    let parsed =
        parse_name(name).map_err(|reason| format!("{reason}; expected {}", kind.pattern()))?;
    if parsed.kind == kind {
        Ok(parsed)
    } else {
        Err(format!(
            "{name:?} names a {}, not a {kind} ({})",
            parsed.kind,
            kind.pattern()
        ))
    }
}

/// Checks the `parent` of a List: a location for jobs; a location or any resource that owns
/// operations for operations.
pub(crate) fn check_parent(kind: ResourceKind, parent: &str) -> Result<(), String> {
    let segments = owner_segments(parent, 4)?;
    if kind != ResourceKind::Operation && segments.len() != 4 {
        return Err(format!(
            "{parent:?} is not a location (projects/*/locations/*)"
        ));
    }
    Ok(())
}

/// Splits a `projects/{p}/locations/{l}[/{collection}/{id}]...` path into segments, checking
/// each with the library's rules, with at least `min` segments.
fn owner_segments(path: &str, min: usize) -> Result<Vec<&str>, String> {
    if path.len() > MAX_NAME_LEN {
        return Err(format!(
            "the name is {} bytes; the limit is {MAX_NAME_LEN}",
            path.len()
        ));
    }
    let segments: Vec<&str> = path.split('/').collect();
    if segments.len() < min || !segments.len().is_multiple_of(2) {
        return Err(format!("{path:?} has the wrong number of segments"));
    }
    if segments[0] != "projects" || segments[2] != "locations" {
        return Err(format!(
            "{path:?} does not start with projects/*/locations/*"
        ));
    }
    for (index, segment) in segments.iter().enumerate() {
        let problem = match index {
            3 => location_problem(segment),
            0 | 2 => None,
            _ if index % 2 == 0 => collection_problem(segment),
            _ => segment_problem(segment).map(|p| format!("segment {} {p}", index + 1)),
        };
        if let Some(problem) = problem {
            return Err(problem);
        }
    }
    Ok(segments)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Target;
    use proptest::prelude::*;

    /// A segment: often valid, often almost valid, sometimes a collection word.
    fn piece() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z0-9-]{1,6}",
            "[A-Za-z0-9._~:%@ -]{0,6}",
            prop::sample::select(vec![
                "pipelineJobs",
                "nasJobs",
                "operations",
                "endpoints",
                "Endpoints",
                "locations",
                ".",
                "..",
                "",
            ])
            .prop_map(String::from),
        ]
    }

    fn relative_name() -> impl Strategy<Value = String> {
        (piece(), piece(), prop::collection::vec(piece(), 0..7)).prop_map(
            |(project, location, rest)| {
                let mut name = format!("projects/{project}/locations/{location}");
                for segment in rest {
                    name.push('/');
                    name.push_str(&segment);
                }
                name
            },
        )
    }

    proptest! {
        /// The client sends a name exactly when the fake would accept it, as the same kind
        /// under the same owner.
        #[test]
        fn the_client_and_the_fake_agree_on_every_name(name in relative_name()) {
            let client = name.parse::<Target>();
            let fake = parse_name(&name);
            prop_assert_eq!(client.is_ok(), fake.is_ok(), "{:?}: {:?} / {:?}", name, client, fake);
            if let (Ok(target), Ok(parsed)) = (client, fake) {
                prop_assert_eq!(target.kind(), parsed.kind.target_kind());
                if let Target::Operation(op) = &target {
                    prop_assert_eq!(op.owner(), parsed.parent);
                }
            }
        }
    }

    #[test]
    fn reads_each_kind_and_its_parent() {
        let p = parse_name("projects/p/locations/us-central1/pipelineJobs/a").unwrap();
        assert_eq!(p.kind, ResourceKind::PipelineJob);
        assert_eq!(p.parent, "projects/p/locations/us-central1");
        let n = parse_name("projects/p/locations/l/nasJobs/7").unwrap();
        assert_eq!(n.kind, ResourceKind::NasJob);
        let o = parse_name("projects/p/locations/l/pipelineJobs/j/operations/9").unwrap();
        assert_eq!(o.kind, ResourceKind::Operation);
        assert_eq!(o.parent, "projects/p/locations/l/pipelineJobs/j");
    }

    #[test]
    fn rejects_malformed_names() {
        for bad in [
            "",
            "projects/p/locations/l/pipelineJobs",
            "projects/p/locations/l/pipelineJobs/",
            "projects/p/regions/l/pipelineJobs/a",
            "projects/p/locations/l/trainingPipelines/a",
            "projects/p/locations/l/x/y/pipelineJobs/a",
            "projects/p/locations/l/pipelineJobs/a b",
            "//aiplatform.googleapis.com/projects/p/locations/l/operations/1",
        ] {
            assert!(parse_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_name_of_the_wrong_kind_is_refused() {
        let err = parse_name_of(
            ResourceKind::PipelineJob,
            "projects/p/locations/l/nasJobs/1",
        )
        .unwrap_err();
        assert!(err.contains("NasJob"), "{err}");
    }

    #[test]
    fn parents() {
        assert!(check_parent(ResourceKind::PipelineJob, "projects/p/locations/l").is_ok());
        assert!(check_parent(ResourceKind::PipelineJob, "projects/p").is_err());
        assert!(
            check_parent(
                ResourceKind::PipelineJob,
                "projects/p/locations/l/pipelineJobs/j"
            )
            .is_err()
        );
        assert!(
            check_parent(
                ResourceKind::Operation,
                "projects/p/locations/l/pipelineJobs/j"
            )
            .is_ok()
        );
    }
}
