//! Typed resource names for what this crate cancels: every kind of Vertex AI job
//! ([`TargetKind`]: pipeline jobs, NAS jobs, custom, hyperparameter tuning, batch prediction, data
//! labeling and tuning jobs, training pipelines) and long-running operations, on Vertex AI or
//! AutoML. What differs between the job kinds (collection word, JSON word, id rule) is one row
//! of a table; the typed names are generated from it.
//!
//! A name is validated once, when it is built or parsed, so nothing downstream (endpoint choice,
//! routing headers, the wire) ever sees a malformed or hostile string: the location in particular
//! becomes part of a host name. Every name keeps its relative form as one `String`, so handing it
//! to a request is a cheap `&str`. Parsing and `Display` round-trip: a Vertex AI name displays in
//! relative form, an AutoML operation in the AIP-122 full form `//automl.googleapis.com/...`
//! (a relative name alone cannot say it belongs to AutoML).
//!
//! ```
//! use vertex_cancel::{Service, Target, TargetKind};
//!
//! let job: Target = "projects/p/locations/us-central1/pipelineJobs/123".parse()?;
//! assert_eq!((job.kind(), job.location()), (TargetKind::PipelineJob, "us-central1"));
//!
//! let tuning: Target = "projects/p/locations/europe-west4/tuningJobs/42".parse()?;
//! assert_eq!(tuning.kind().as_str(), "tuning-job");
//! assert!("projects/p/locations/europe-west4/tuningJobs/x".parse::<Target>().is_err());
//!
//! let op: Target = "//automl.googleapis.com/projects/p/locations/eu/operations/9".parse()?;
//! assert_eq!(op.service(), Service::AutoMl);
//! assert_eq!(op.relative_name(), "projects/p/locations/eu/operations/9");
//! # Ok::<(), vertex_cancel::Error>(())
//! ```

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};
use crate::escape::{describe_char, printable};

/// Longest relative name accepted, in bytes.
pub const MAX_NAME_LEN: usize = 1024;
/// Longest single segment (project, location, collection or id) accepted, in bytes.
pub const MAX_SEGMENT_LEN: usize = 128;
/// A location id is one DNS label.
const MAX_LOCATION_LEN: usize = 63;

const PROJECT_START: usize = "projects/".len();
const LOCATIONS_SEP_LEN: usize = "/locations/".len();

/// The Google service that owns a resource; it decides the endpoint host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    /// Vertex AI (`aiplatform.googleapis.com`): jobs and operations.
    VertexAi,
    /// AutoML v1beta1 (`automl.googleapis.com`): operations only.
    AutoMl,
}

impl Service {
    /// The service's DNS label: `aiplatform` or `automl`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::VertexAi => "aiplatform",
            Self::AutoMl => "automl",
        }
    }

    /// The AIP-122 full-name prefix, e.g. `//automl.googleapis.com/`.
    const fn full_name_prefix(self) -> &'static str {
        match self {
            Self::VertexAi => "//aiplatform.googleapis.com/",
            Self::AutoMl => "//automl.googleapis.com/",
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Service {
    type Err = Error;

    /// Accepts `aiplatform` / `vertex-ai` (Vertex AI) and `automl`.
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "aiplatform" | "vertex-ai" => Ok(Self::VertexAi),
            "automl" => Ok(Self::AutoMl),
            _ => Err(Error::InvalidConfig {
                reason: format!(
                    "unknown service `{}`; expected `aiplatform` (Vertex AI) or `automl`",
                    printable(s)
                ),
            }),
        }
    }
}

/// Which kind of work a [`Target`] names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TargetKind {
    /// A Vertex AI pipeline job.
    PipelineJob,
    /// A Vertex AI Neural Architecture Search job.
    NasJob,
    /// A long-running operation (Vertex AI or AutoML).
    Operation,
    /// A Vertex AI custom (training) job.
    CustomJob,
    /// A Vertex AI hyperparameter tuning job.
    HyperparameterTuningJob,
    /// A Vertex AI batch prediction job.
    BatchPredictionJob,
    /// A Vertex AI data labeling job.
    DataLabelingJob,
    /// A Vertex AI training pipeline (AutoML and custom training).
    TrainingPipeline,
    /// A Vertex AI generative-model tuning job (`GenAiTuningService`).
    TuningJob,
}

/// How a kind's ids are checked beyond [`segment_problem`]; see [`id_problem`].
#[derive(Clone, Copy, PartialEq, Eq)]
enum IdRule {
    /// No documented alphabet: the lenient segment rule alone.
    Segment,
    /// A pipeline job id: `a-z 0-9 -`.
    PipelineJob,
    /// Server-generated and numeric: `0-9`.
    Numeric,
}

/// Everything that differs between the kinds' names, one row per kind in discriminant order.
struct KindInfo {
    word: &'static str,
    collection: &'static str,
    describe: &'static str,
    id: IdRule,
}

const fn info(
    word: &'static str,
    collection: &'static str,
    describe: &'static str,
    id: IdRule,
) -> KindInfo {
    KindInfo {
        word,
        collection,
        describe,
        id,
    }
}

const KIND_TABLE: [KindInfo; 9] = [
    info(
        "pipeline-job",
        "pipelineJobs",
        "pipeline job",
        IdRule::PipelineJob,
    ),
    info("nas-job", "nasJobs", "NAS job", IdRule::Segment),
    info("operation", "operations", "operation", IdRule::Segment),
    info("custom-job", "customJobs", "custom job", IdRule::Numeric),
    info(
        "hyperparameter-tuning-job",
        "hyperparameterTuningJobs",
        "hyperparameter tuning job",
        IdRule::Numeric,
    ),
    info(
        "batch-prediction-job",
        "batchPredictionJobs",
        "batch prediction job",
        IdRule::Numeric,
    ),
    info(
        "data-labeling-job",
        "dataLabelingJobs",
        "data labeling job",
        IdRule::Numeric,
    ),
    info(
        "training-pipeline",
        "trainingPipelines",
        "training pipeline",
        IdRule::Numeric,
    ),
    info("tuning-job", "tuningJobs", "tuning job", IdRule::Numeric),
];

impl TargetKind {
    /// Every kind, in declaration order.
    pub const ALL: [Self; 9] = [
        Self::PipelineJob,
        Self::NasJob,
        Self::Operation,
        Self::CustomJob,
        Self::HyperparameterTuningJob,
        Self::BatchPredictionJob,
        Self::DataLabelingJob,
        Self::TrainingPipeline,
        Self::TuningJob,
    ];

    const fn info(self) -> &'static KindInfo {
        &KIND_TABLE[self as usize]
    }

    /// A stable machine-readable word (the JSON `kind`): `pipeline-job`, `nas-job`,
    /// `operation`, `custom-job`, `hyperparameter-tuning-job`, `batch-prediction-job`,
    /// `data-labeling-job`, `training-pipeline` or `tuning-job`.
    pub const fn as_str(self) -> &'static str {
        self.info().word
    }

    /// The collection word in a name (`pipelineJobs`, `customJobs`, `operations`, ...).
    pub const fn collection(self) -> &'static str {
        self.info().collection
    }

    /// Prose for error messages.
    const fn describe(self) -> &'static str {
        self.info().describe
    }

    /// The proto message name (`PipelineJob`, `Operation`, ...), as Google's messages use it:
    /// the collection word, singular, capitalised.
    #[cfg(any(feature = "fake", test))]
    pub(crate) fn message_name(self) -> String {
        let singular = self
            .collection()
            .strip_suffix('s')
            .unwrap_or(self.collection());
        let mut chars = singular.chars();
        chars.next().map_or_else(String::new, |first| {
            first.to_ascii_uppercase().to_string() + chars.as_str()
        })
    }

    /// The job kind whose names end in `{collection}/{id}` (operations are not looked up here:
    /// they may nest).
    fn of_job_collection(collection: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|k| *k != Self::Operation && k.collection() == collection)
    }
}

impl fmt::Display for TargetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TargetKind {
    /// Every job kind: what a sweep over "all kinds" lists (operations are not jobs: they have
    /// no display name or labels to select by). The one list a new job kind joins.
    pub const JOBS: &'static [Self] = &[
        Self::PipelineJob,
        Self::TrainingPipeline,
        Self::CustomJob,
        Self::HyperparameterTuningJob,
        Self::BatchPredictionJob,
        Self::DataLabelingJob,
        Self::NasJob,
        Self::TuningJob,
    ];
}

/// `projects/{project}/locations/{location}`: where a resource lives, and the `parent` of Lists.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct LocationName {
    relative: String,
    project_end: usize,
}

impl LocationName {
    /// Builds a location name from its parts.
    ///
    /// # Errors
    /// [`Error::InvalidLocation`] if `location` is not a plain location id,
    /// [`Error::InvalidName`] if `project` is not a valid segment.
    pub fn new(project: &str, location: &str) -> Result<Self> {
        check_location(location)?;
        check_component("project", project)?;
        Ok(Self {
            relative: format!("projects/{project}/locations/{location}"),
            project_end: PROJECT_START + project.len(),
        })
    }

    /// The project id (or number).
    pub fn project(&self) -> &str {
        &self.relative[PROJECT_START..self.project_end]
    }

    /// The location id, e.g. `us-central1`.
    pub fn location(&self) -> &str {
        &self.relative[self.project_end + LOCATIONS_SEP_LEN..]
    }

    /// The relative name sent on the wire, e.g. as a List `parent`.
    pub fn relative_name(&self) -> &str {
        &self.relative
    }
}

impl FromStr for LocationName {
    type Err = Error;

    /// Parses a relative `projects/{project}/locations/{location}`.
    fn from_str(input: &str) -> Result<Self> {
        let segs = segments(input, input)?;
        check_parent(input, &segs)?;
        if segs.len() > 4 {
            return Err(invalid(
                input,
                "unexpected segments after the location; a location name is \
                 `projects/{project}/locations/{location}`",
            ));
        }
        Ok(Self {
            relative: input.to_owned(),
            project_end: PROJECT_START + segs[1].len(),
        })
    }
}

impl fmt::Display for LocationName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.relative)
    }
}

impl fmt::Debug for LocationName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("LocationName").field(&self.relative).finish()
    }
}

/// The validated parts every target name shares; the typed names are thin wrappers around it.
#[derive(Clone, PartialEq, Eq, Hash)]
struct NameParts {
    service: Service,
    kind: TargetKind,
    relative: String,
    project_end: usize,
    location_end: usize,
    /// End of the resource owning the final `{collection}/{id}` pair.
    owner_end: usize,
    id_start: usize,
}

impl NameParts {
    /// Parses a relative name (Vertex AI) or an AIP-122 full name of either service.
    fn parse(input: &str) -> Result<Self> {
        let (service, relative) = split_service(input)?;
        Self::parse_relative(input, relative, service)
    }

    /// Parses `relative` as a name of `service`; errors quote `input`.
    fn parse_relative(input: &str, relative: &str, service: Service) -> Result<Self> {
        let segs = segments(input, relative)?;
        check_parent(input, &segs)?;
        let kind = classify(&segs[4..]).map_err(|reason| invalid(input, reason))?;
        if let Some(problem) = id_problem(kind, segs[segs.len() - 1]) {
            return Err(invalid(input, problem));
        }
        if service == Service::AutoMl && kind != TargetKind::Operation {
            return Err(invalid(
                input,
                format!(
                    "the AutoML service (`//automl.googleapis.com/`) names only operations, \
                     not a {}",
                    kind.describe()
                ),
            ));
        }
        let n = segs.len();
        let project_end = PROJECT_START + segs[1].len();
        let location_end = project_end + LOCATIONS_SEP_LEN + segs[3].len();
        let id_start = relative.len() - segs[n - 1].len();
        let owner_end = id_start - 1 - segs[n - 2].len() - 1;
        Ok(Self {
            service,
            kind,
            relative: relative.to_owned(),
            project_end,
            location_end,
            owner_end,
            id_start,
        })
    }

    /// Builds a flat Vertex AI name from parts, checking each part on its own first so the error
    /// names the part at fault.
    fn build(kind: TargetKind, project: &str, location: &str, id: &str) -> Result<Self> {
        check_location(location)?;
        check_component("project", project)?;
        check_component("id", id)?;
        if let Some(problem) = id_problem(kind, id) {
            return Err(invalid(id, problem));
        }
        let relative = format!(
            "projects/{project}/locations/{location}/{}/{id}",
            kind.collection()
        );
        Self::parse_relative(&relative, &relative, Service::VertexAi)
    }

    /// Refuses a well-formed name of another kind than the typed name being parsed.
    fn expect_kind(self, kind: TargetKind, input: &str) -> Result<Self> {
        if self.kind == kind {
            return Ok(self);
        }
        Err(invalid(
            input,
            format!(
                "expected a {} name (`projects/{{project}}/locations/{{location}}/{}/{{id}}`), \
                 found a {} name",
                kind.describe(),
                kind.collection(),
                self.kind.describe()
            ),
        ))
    }

    fn project(&self) -> &str {
        &self.relative[PROJECT_START..self.project_end]
    }

    fn location(&self) -> &str {
        &self.relative[self.project_end + LOCATIONS_SEP_LEN..self.location_end]
    }

    fn id(&self) -> &str {
        &self.relative[self.id_start..]
    }

    fn parent(&self) -> LocationName {
        LocationName {
            relative: self.relative[..self.location_end].to_owned(),
            project_end: self.project_end,
        }
    }

    fn full_name(&self) -> String {
        format!("{}{}", self.service.full_name_prefix(), self.relative)
    }
}

impl fmt::Display for NameParts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.service == Service::AutoMl {
            f.write_str(self.service.full_name_prefix())?;
        }
        f.write_str(&self.relative)
    }
}

/// Accessors shared by the typed names and [`Target`], all delegating to `self.parts()`.
macro_rules! name_accessors {
    ($ty:ident) => {
        impl $ty {
            /// The project id (or number) the resource belongs to.
            pub fn project(&self) -> &str {
                self.parts().project()
            }

            /// The location id, e.g. `us-central1`; it decides the regional endpoint.
            pub fn location(&self) -> &str {
                self.parts().location()
            }

            /// The last segment: the job or operation id.
            pub fn id(&self) -> &str {
                self.parts().id()
            }

            /// The `projects/{project}/locations/{location}` the resource lives in.
            pub fn parent(&self) -> LocationName {
                self.parts().parent()
            }

            /// Which kind of work this names.
            pub fn kind(&self) -> TargetKind {
                self.parts().kind
            }

            /// The service that owns the resource (always Vertex AI for jobs).
            pub fn service(&self) -> Service {
                self.parts().service
            }

            /// The relative name sent on the wire (`projects/...`), whatever the service.
            pub fn relative_name(&self) -> &str {
                &self.parts().relative
            }

            /// The AIP-122 full name, e.g. `//aiplatform.googleapis.com/projects/...`.
            pub fn full_name(&self) -> String {
                self.parts().full_name()
            }
        }

        impl fmt::Display for $ty {
            /// Relative form for Vertex AI, full form (`//automl.googleapis.com/...`) for AutoML.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(self.parts(), f)
            }
        }
    };
}

/// A typed name wrapping [`NameParts`], one per [`Target`] variant.
macro_rules! typed_name {
    ($(#[$meta:meta])* $ty:ident, $variant:ident) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, Hash)]
        pub struct $ty(NameParts);

        impl $ty {
            fn parts(&self) -> &NameParts {
                &self.0
            }
        }

        name_accessors!($ty);

        impl FromStr for $ty {
            type Err = Error;

            /// Parses a relative name or an AIP-122 full name.
            fn from_str(input: &str) -> Result<Self> {
                NameParts::parse(input)?
                    .expect_kind(TargetKind::$variant, input)
                    .map(Self)
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple(stringify!($ty)).field(&self.to_string()).finish()
            }
        }

        impl From<$ty> for Target {
            fn from(name: $ty) -> Self {
                Target::$variant(name)
            }
        }
    };
}

/// A typed name of a job kind, `projects/{project}/locations/{location}/{collection}/{id}`, with
/// its constructor from parts.
macro_rules! job_name {
    ($(#[$meta:meta])* $ty:ident, $variant:ident) => {
        typed_name!($(#[$meta])* $ty, $variant);

        impl $ty {
            #[doc = concat!("Builds the `", stringify!($variant), "` name from its parts.")]
            ///
            /// # Errors
            /// [`Error::InvalidLocation`] for a bad location, [`Error::InvalidName`] for a bad
            /// project or id.
            pub fn new(project: &str, location: &str, id: &str) -> Result<Self> {
                NameParts::build(TargetKind::$variant, project, location, id).map(Self)
            }
        }
    };
}

job_name!(
    /// `projects/{project}/locations/{location}/pipelineJobs/{id}` on Vertex AI.
    PipelineJobName,
    PipelineJob
);

job_name!(
    /// `projects/{project}/locations/{location}/nasJobs/{id}` on Vertex AI.
    NasJobName,
    NasJob
);

job_name!(
    /// `projects/{project}/locations/{location}/customJobs/{id}` on Vertex AI (numeric id).
    CustomJobName,
    CustomJob
);

job_name!(
    /// `projects/{project}/locations/{location}/hyperparameterTuningJobs/{id}` on Vertex AI
    /// (numeric id).
    HyperparameterTuningJobName,
    HyperparameterTuningJob
);

job_name!(
    /// `projects/{project}/locations/{location}/batchPredictionJobs/{id}` on Vertex AI (numeric
    /// id).
    BatchPredictionJobName,
    BatchPredictionJob
);

job_name!(
    /// `projects/{project}/locations/{location}/dataLabelingJobs/{id}` on Vertex AI (numeric id).
    DataLabelingJobName,
    DataLabelingJob
);

job_name!(
    /// `projects/{project}/locations/{location}/trainingPipelines/{id}` on Vertex AI (numeric
    /// id).
    TrainingPipelineName,
    TrainingPipeline
);

job_name!(
    /// `projects/{project}/locations/{location}/tuningJobs/{id}` on Vertex AI (numeric id).
    TuningJobName,
    TuningJob
);

typed_name!(
    /// A long-running operation, `projects/{p}/locations/{l}/operations/{id}` or nested under a
    /// resource (`projects/{p}/locations/{l}/{collection}/{id}/.../operations/{id}`), on Vertex AI
    /// or AutoML.
    OperationName,
    Operation
);

impl OperationName {
    /// Builds the Vertex AI operation `projects/{project}/locations/{location}/operations/{id}`.
    ///
    /// # Errors
    /// [`Error::InvalidLocation`] for a bad location, [`Error::InvalidName`] for a bad project/id.
    pub fn new(project: &str, location: &str, id: &str) -> Result<Self> {
        NameParts::build(TargetKind::Operation, project, location, id).map(Self)
    }

    /// Parses a relative operation name (flat or nested) as a Vertex AI operation.
    ///
    /// # Errors
    /// [`Error::InvalidName`] unless `relative` is a relative operation name.
    pub fn vertex_ai(relative: &str) -> Result<Self> {
        Self::with_relative(relative, Service::VertexAi)
    }

    /// Parses a relative operation name as an AutoML v1beta1 operation.
    ///
    /// # Errors
    /// [`Error::InvalidName`] unless `relative` is a relative operation name.
    pub fn automl(relative: &str) -> Result<Self> {
        Self::with_relative(relative, Service::AutoMl)
    }

    /// The same operation on another service (the relative name does not say which).
    #[must_use]
    pub fn with_service(mut self, service: Service) -> Self {
        self.0.service = service;
        self
    }

    /// The resource the operation hangs off (the relative name before `/operations/{id}`): the
    /// `name` ListOperations takes. For a flat operation that is the location name.
    pub fn owner(&self) -> &str {
        &self.0.relative[..self.0.owner_end]
    }

    fn with_relative(relative: &str, service: Service) -> Result<Self> {
        NameParts::parse_relative(relative, relative, service)?
            .expect_kind(TargetKind::Operation, relative)
            .map(Self)
    }
}

/// Declares [`Target`] over the typed names, with the one match from parts to variant.
macro_rules! target {
    ($($(#[$meta:meta])* $variant:ident($ty:ident)),+ $(,)?) => {
        /// Any work this crate can cancel.
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum Target {
            $($(#[$meta])* $variant($ty),)+
        }

        impl Target {
            fn parts(&self) -> &NameParts {
                match self {
                    $(Self::$variant(name) => &name.0,)+
                }
            }

            fn from_parts(parts: NameParts) -> Self {
                match parts.kind {
                    $(TargetKind::$variant => Self::$variant($ty(parts)),)+
                }
            }
        }
    };
}

target!(
    /// A Vertex AI pipeline job.
    PipelineJob(PipelineJobName),
    /// A Vertex AI NAS job.
    NasJob(NasJobName),
    /// A long-running operation, Vertex AI or AutoML.
    Operation(OperationName),
    /// A Vertex AI custom job.
    CustomJob(CustomJobName),
    /// A Vertex AI hyperparameter tuning job.
    HyperparameterTuningJob(HyperparameterTuningJobName),
    /// A Vertex AI batch prediction job.
    BatchPredictionJob(BatchPredictionJobName),
    /// A Vertex AI data labeling job.
    DataLabelingJob(DataLabelingJobName),
    /// A Vertex AI training pipeline.
    TrainingPipeline(TrainingPipelineName),
    /// A Vertex AI tuning job.
    TuningJob(TuningJobName),
);

name_accessors!(Target);

impl Target {
    /// Whether `reported`, a name a server returned (a List item, a batch's answer) read as
    /// a [`Target`], names this target: the same kind, location and path after it
    /// (collection and id, an operation's owner), and the same project, or a project number
    /// on one side only (Google may answer with the number for the id a caller gave). An item
    /// a server listed by mistake must not stand for a target.
    pub(crate) fn is_named_by(&self, reported: &Target) -> bool {
        let (ours, reported) = (self.parts(), reported.parts());
        let numbered = |project: &str| project.bytes().all(|b| b.is_ascii_digit());
        ours.kind == reported.kind
            && ours.location() == reported.location()
            && ours.relative[ours.location_end..] == reported.relative[reported.location_end..]
            && (ours.project() == reported.project()
                || numbered(ours.project()) != numbered(reported.project()))
    }
}

impl FromStr for Target {
    type Err = Error;

    /// Parses a relative name (Vertex AI) or an AIP-122 full name of either service.
    fn from_str(input: &str) -> Result<Self> {
        NameParts::parse(input).map(Self::from_parts)
    }
}

/// Checks a location (or region) given on its own: it becomes part of a host name.
///
/// # Errors
/// [`Error::InvalidLocation`] unless it matches `^[a-z][a-z0-9-]{0,62}$`.
pub(crate) fn check_location(location: &str) -> Result<()> {
    match location_problem(location) {
        None => Ok(()),
        Some(reason) => Err(Error::InvalidLocation {
            location: printable(location),
            reason,
        }),
    }
}

/// Why `location` is not a plain location id (`^[a-z][a-z0-9-]{0,62}$`), if it is not.
///
/// Vertex AI locations are lower-case DNS labels (`us-central1`, `global`); the location also
/// becomes part of a host name. The fake applies this same rule.
pub(crate) fn location_problem(location: &str) -> Option<String> {
    let detail = if location.is_empty() {
        "it is empty".to_owned()
    } else if location.len() > MAX_LOCATION_LEN {
        format!("it is {} bytes long", location.len())
    } else if !location.starts_with(|c: char| c.is_ascii_lowercase()) {
        "it does not start with a lowercase letter".to_owned()
    } else if let Some(c) = location
        .chars()
        .find(|&c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
    {
        format!("it contains {}", describe_char(c))
    } else {
        return None;
    };
    Some(format!(
        "location `{}` is not a plain location id ({detail}); a location id is a lowercase \
         letter followed by up to 62 lowercase letters, digits or `-`",
        printable(location)
    ))
}

fn is_segment_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '~' | ':' | '-')
}

/// Why `segment` cannot be one segment of a name, if it cannot: the rule for a project, an id
/// a resource hangs off, and a NAS job or operation id.
///
/// Google documents no alphabet for these (NAS job and operation ids are server-assigned,
/// Vertex AI's numeric and AutoML's alphanumeric; projects may be numbers or domain-scoped
/// `example.com:proj`), so this is the lenient rule: RFC 3986 unreserved characters plus `:`,
/// at most [`MAX_SEGMENT_LEN`] bytes, never a dot segment. The fake applies this same function,
/// so the client never sends a name the fake refuses as malformed, and the reverse.
pub(crate) fn segment_problem(segment: &str) -> Option<String> {
    if segment.is_empty() {
        return Some("is empty".to_owned());
    }
    if segment == "." || segment == ".." {
        return Some(format!("is `{segment}`, which is not allowed"));
    }
    if segment.len() > MAX_SEGMENT_LEN {
        return Some(format!(
            "is {} bytes; the limit is {MAX_SEGMENT_LEN}",
            segment.len()
        ));
    }
    segment.chars().find(|&c| !is_segment_char(c)).map(|c| {
        format!(
            "contains {}, which is not allowed; segments use only `A-Z a-z 0-9 . _ ~ : -`",
            describe_char(c)
        )
    })
}

/// Why `id` cannot be the final id of a `kind` name, beyond [`segment_problem`], if it cannot.
///
/// A pipeline job id is user-chosen or server-generated; CreatePipelineJob documents its
/// `pipeline_job_id` as "less than 128 characters, and valid characters are `/[a-z][0-9]-/`",
/// which server-generated (numeric or name-timestamp) ids also fit. Length is left to
/// [`segment_problem`] (128 bytes), one more than the comment's bound: lenient where unsure.
/// Custom, hyperparameter tuning, batch prediction, data labeling and tuning jobs and training
/// pipelines cannot be given an id (their Create RPCs take none): the server generates a
/// numeric one, so anything else is a typo or an injection. NAS job and operation ids have no
/// documented alphabet beyond [`segment_problem`]'s.
pub(crate) fn id_problem(kind: TargetKind, id: &str) -> Option<String> {
    let (allowed, alphabet): (fn(char) -> bool, &str) = match kind.info().id {
        IdRule::Segment => return None,
        IdRule::PipelineJob => (
            |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-',
            "`a-z 0-9 -`",
        ),
        IdRule::Numeric => (|c| c.is_ascii_digit(), "digits (`0-9`)"),
    };
    id.chars().find(|&c| !allowed(c)).map(|c| {
        format!(
            "{what} id contains {}; a {what} id uses only {alphabet}",
            describe_char(c),
            what = kind.describe()
        )
    })
}

/// Why `word` cannot be a collection id, if it cannot: AIP-122 collection ids are
/// `[a-z][a-zA-Z0-9]*` (`pipelineJobs`, `deployedModels`). The fake applies this same rule.
pub(crate) fn collection_problem(word: &str) -> Option<String> {
    let ok = word.starts_with(|c: char| c.is_ascii_lowercase())
        && word.chars().all(|c| c.is_ascii_alphanumeric());
    (!ok).then(|| {
        format!(
            "`{}` is not a collection name; collections are letters and digits starting with a \
             lowercase letter",
            printable(word)
        )
    })
}

/// Checks one part given to a constructor (`project`, `id`) as a single segment.
fn check_component(what: &str, value: &str) -> Result<()> {
    match segment_problem(value) {
        None => Ok(()),
        Some(problem) => Err(invalid(value, format!("{what} {problem}"))),
    }
}

fn invalid(input: &str, reason: impl Into<String>) -> Error {
    Error::InvalidName {
        input: printable(input),
        reason: reason.into(),
    }
}

/// Strips an AIP-122 full-name prefix; a name without one is relative and means Vertex AI.
fn split_service(input: &str) -> Result<(Service, &str)> {
    let Some(after_slashes) = input.strip_prefix("//") else {
        return Ok((Service::VertexAi, input));
    };
    for service in [Service::VertexAi, Service::AutoMl] {
        if let Some(relative) = input.strip_prefix(service.full_name_prefix()) {
            return Ok((service, relative));
        }
    }
    let host = after_slashes.split('/').next().unwrap_or_default();
    Err(invalid(
        input,
        format!(
            "a full resource name starts with `//aiplatform.googleapis.com/` or \
             `//automl.googleapis.com/`, not `//{}/`",
            printable(host)
        ),
    ))
}

/// Splits a relative name into segments, enforcing the length bounds and the segment alphabet.
fn segments<'a>(input: &str, relative: &'a str) -> Result<Vec<&'a str>> {
    if relative.is_empty() {
        return Err(invalid(input, "name is empty"));
    }
    if relative.len() > MAX_NAME_LEN {
        return Err(invalid(
            input,
            format!(
                "name is {} bytes; the limit is {MAX_NAME_LEN}",
                relative.len()
            ),
        ));
    }
    if relative.starts_with('/') {
        return Err(invalid(
            input,
            "name starts with `/`; a relative name begins with `projects/`",
        ));
    }
    if relative.ends_with('/') {
        return Err(invalid(input, "name ends with `/`"));
    }
    let segs: Vec<&str> = relative.split('/').collect();
    for (index, segment) in segs.iter().enumerate() {
        if let Some(problem) = segment_problem(segment) {
            return Err(invalid(input, format!("segment {} {problem}", index + 1)));
        }
    }
    Ok(segs)
}

/// Checks the `projects/{project}/locations/{location}` prefix every name starts with.
fn check_parent(input: &str, segs: &[&str]) -> Result<()> {
    for (index, word) in [(0, "projects"), (2, "locations")] {
        match segs.get(index) {
            Some(found) if *found == word => {}
            Some(found) => {
                return Err(invalid(
                    input,
                    format!(
                        "segment {} must be `{word}`, found `{}`",
                        index + 1,
                        printable(found)
                    ),
                ));
            }
            None => return Err(too_short(input, segs.len())),
        }
    }
    let location = segs.get(3).ok_or_else(|| too_short(input, segs.len()))?;
    match location_problem(location) {
        None => Ok(()),
        Some(reason) => Err(invalid(input, reason)),
    }
}

fn too_short(input: &str, count: usize) -> Error {
    invalid(
        input,
        format!(
            "name has only {count} segment(s); expected \
             `projects/{{project}}/locations/{{location}}/...`"
        ),
    )
}

/// Decides the kind from the segments after the location, or says why they name nothing.
fn classify(rest: &[&str]) -> std::result::Result<TargetKind, String> {
    let known = || {
        let words: Vec<String> = TargetKind::ALL
            .iter()
            .map(|k| format!("`{}`", k.collection()))
            .collect();
        words.join(", ")
    };
    let kind_of = |word: &str| {
        (word == TargetKind::Operation.collection())
            .then_some(TargetKind::Operation)
            .or_else(|| TargetKind::of_job_collection(word))
    };
    match (rest, rest.first().and_then(|word| kind_of(word))) {
        ([], _) => Err(format!(
            "name stops at the location; expected one of {} and an id after it",
            known()
        )),
        ([_, _], Some(kind)) => Ok(kind),
        ([.., "operations", _], _) if rest.len().is_multiple_of(2) => {
            check_nested_collections(&rest[..rest.len() - 2]).map(|()| TargetKind::Operation)
        }
        ([word], Some(_)) => Err(format!("`{word}` has no id after it")),
        ([word, ..], Some(_)) => Err(format!(
            "unexpected segments after the `{word}` id; only an operation \
             (`.../operations/{{id}}`) may be nested under a resource"
        )),
        ([word, ..], None) => Err(format!(
            "expected one of {} after the location (or an operation nested under a resource: \
             `.../{{collection}}/{{id}}/operations/{{id}}`), found `{}`",
            known(),
            printable(word)
        )),
    }
}

/// Checks the `{collection}/{id}` pairs a nested operation hangs off (segments 5, 7, ...).
fn check_nested_collections(pairs: &[&str]) -> std::result::Result<(), String> {
    for (pair, word) in pairs.iter().step_by(2).enumerate() {
        if let Some(problem) = collection_problem(word) {
            return Err(format!("segment {}: {problem}", 5 + 2 * pair));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const JOB: &str = "projects/p/locations/us-central1/pipelineJobs/x";

    fn reason_of(input: &str) -> String {
        match input.parse::<Target>() {
            Err(Error::InvalidName {
                input: shown,
                reason,
            }) => {
                assert!(
                    shown.chars().all(|c| c.is_ascii() && !c.is_ascii_control()),
                    "unsafe input echo {shown:?}"
                );
                assert!(
                    shown.len() <= 200,
                    "input echo not truncated: {} bytes",
                    shown.len()
                );
                reason
            }
            other => panic!("{input:?}: expected InvalidName, got {other:?}"),
        }
    }

    #[test]
    fn every_kind_but_operations_is_a_job_the_sweep_lists() {
        let jobs: Vec<TargetKind> = TargetKind::ALL
            .into_iter()
            .filter(|k| *k != TargetKind::Operation)
            .collect();
        let mut listed = TargetKind::JOBS.to_vec();
        listed.sort_by_key(|k| k.as_str());
        let mut expected = jobs.clone();
        expected.sort_by_key(|k| k.as_str());
        assert_eq!(listed, expected);
    }

    #[test]
    fn a_reported_name_names_a_target_by_kind_location_path_and_project() {
        let named = |target: &str, reported: &str| {
            let target: Target = target.parse().unwrap();
            reported
                .parse::<Target>()
                .is_ok_and(|reported| target.is_named_by(&reported))
        };
        let job = "projects/my-proj/locations/us-central1/pipelineJobs/run-1";
        assert!(named(job, job));
        assert!(named(
            job,
            "projects/123456/locations/us-central1/pipelineJobs/run-1"
        ));
        for other in [
            "projects/other/locations/us-central1/pipelineJobs/run-1",
            "projects/my-proj/locations/europe-west4/pipelineJobs/run-1",
            "projects/my-proj/locations/us-central1/trainingPipelines/run-1",
            "projects/my-proj/locations/us-central1/pipelineJobs/run-1/operations/run-1",
            "projects/my-proj/locations/us-central1/pipelineJobs/run-1/",
            "run-1",
            "",
        ] {
            assert!(!named(job, other), "{other}");
        }
        let numbered = "projects/123/locations/us-central1/nasJobs/9";
        assert!(named(
            numbered,
            "projects/my-proj/locations/us-central1/nasJobs/9"
        ));
        assert!(!named(
            numbered,
            "projects/456/locations/us-central1/nasJobs/9"
        ));
        let nested = "projects/p/locations/l1/trainingPipelines/7/operations/8";
        assert!(named(
            nested,
            "projects/42/locations/l1/trainingPipelines/7/operations/8"
        ));
        assert!(!named(nested, "projects/p/locations/l1/operations/8"));
    }

    #[test]
    fn hostile_inputs_are_invalid_names_with_precise_reasons() {
        let long_id = "a".repeat(10_000);
        let long_segment = "a".repeat(129);
        let long_location = format!("u{}", "s".repeat(63));
        let cases: Vec<(String, &str)> = vec![
            (String::new(), "name is empty"),
            (format!("{JOB}/"), "ends with `/`"),
            (format!("/{JOB}"), "starts with `/`"),
            (
                "projects/p/locations/us-central1/pipelineJobs/..".into(),
                "is `..`",
            ),
            (
                "projects/./locations/us-central1/pipelineJobs/x".into(),
                "segment 2 is `.`",
            ),
            (format!("{JOB}%2Fy"), "'%'"),
            (format!("{JOB}\n"), "U+000A"),
            (format!("{JOB}\0"), "U+0000"),
            (format!("{JOB}\x1b[31m"), "U+001B"),
            (
                "\u{440}rojects/p/locations/us-central1/pipelineJobs/x".into(),
                "U+0440",
            ),
            (
                "projects/p/locations/us-central1\u{FF0F}pipelineJobs/x".into(),
                "U+FF0F",
            ),
            (
                "projects/p/locations/us\u{200B}/pipelineJobs/x".into(),
                "U+200B",
            ),
            (
                format!("projects/p/locations/us-central1/pipelineJobs/{long_id}"),
                "bytes; the limit is 1024",
            ),
            (
                format!("projects/p/locations/us-central1/pipelineJobs/{long_segment}"),
                "129 bytes; the limit is 128",
            ),
            (
                "projects/p/locations/us-central1.evil.com/pipelineJobs/x".into(),
                "not a plain location id (it contains '.')",
            ),
            (
                "projects/p/locations/us-central1:443/pipelineJobs/x".into(),
                "not a plain location id (it contains ':')",
            ),
            (
                "projects/p/locations/US-CENTRAL1/pipelineJobs/x".into(),
                "location `US-CENTRAL1` is not a plain location id",
            ),
            (
                "projects/p/locations/-us/pipelineJobs/x".into(),
                "start with a lowercase",
            ),
            (
                "projects/p/locations/1us/pipelineJobs/x".into(),
                "start with a lowercase",
            ),
            (
                format!("projects/p/locations/{long_location}/pipelineJobs/x"),
                "64 bytes long",
            ),
            (
                "projects/p/locations/us-central1".into(),
                "stops at the location",
            ),
            ("projects/p".into(), "only 2 segment(s)"),
            ("projects/p/locations".into(), "only 3 segment(s)"),
            ("projects".into(), "only 1 segment(s)"),
            (
                "projects/p/locations/us-central1/pipelineJobs".into(),
                "has no id",
            ),
            (
                "projects/p/locations/us-central1/pipelinejobs/x".into(),
                "expected one of `pipelineJobs`, `nasJobs`, `operations`, `customJobs`",
            ),
            (
                format!("{JOB}/y"),
                "unexpected segments after the `pipelineJobs` id",
            ),
            (
                "projects/p/locations/us-central1/operations/1/extra".into(),
                "unexpected segments after the `operations` id",
            ),
            (
                "projects/p/locations/us-central1/endpoints/e/operations".into(),
                "found `endpoints`",
            ),
            (
                "projects/p/locations/us-central1/a-b/e/operations/1".into(),
                "segment 5: `a-b` is not a collection name",
            ),
            (
                "projects/p/locations/us-central1/Endpoints/e/operations/1".into(),
                "segment 5: `Endpoints` is not a collection name",
            ),
            (
                "projects/p/locations/us-central1/pipelineJobs/Nightly".into(),
                "pipeline job id contains 'N'",
            ),
            (
                "projects/p/locations/us-central1/pipelineJobs/a_b".into(),
                "pipeline job id contains '_'",
            ),
            (
                "Projects/p/locations/us-central1/pipelineJobs/x".into(),
                "must be `projects`",
            ),
            (
                "projects/p/Locations/us-central1/pipelineJobs/x".into(),
                "must be `locations`",
            ),
            (
                "projects//locations/us-central1/pipelineJobs/x".into(),
                "segment 2 is empty",
            ),
            (
                "projects/p/locations//pipelineJobs/x".into(),
                "segment 4 is empty",
            ),
            (format!("//evil.com/{JOB}"), "not `//evil.com/`"),
            (format!("///{JOB}"), "not `///`"),
            (
                "//aiplatform.googleapis.com".into(),
                "a full resource name starts with",
            ),
            (
                format!("//AIPLATFORM.googleapis.com/{JOB}"),
                "a full resource name starts with",
            ),
            (
                format!("//automl.googleapis.com/{JOB}"),
                "names only operations",
            ),
            (
                "//automl.googleapis.com/projects/p/locations/eu/nasJobs/1".into(),
                "not a NAS job",
            ),
            (
                "projects/p/locations/us-central1/pipelineJobs/a b".into(),
                "whitespace U+0020",
            ),
            (
                "projects/p/locations/us-central1/pipelineJobs/a\tb".into(),
                "whitespace U+0009",
            ),
            (
                "projects/p/locations/us-central1/pipelineJobs/a@b".into(),
                "'@'",
            ),
            (
                "projects/p/locations/us-central1/pipelineJobs/a?b".into(),
                "'?'",
            ),
            (
                "projects/p/locations/us-central1/pipelineJobs/a#b".into(),
                "'#'",
            ),
            (
                "projects/p/locations/us-central1/pipelineJobs/a\\b".into(),
                "'\\\\'",
            ),
            (
                " projects/p/locations/us-central1/pipelineJobs/x".into(),
                "segment 1 contains",
            ),
        ];
        assert!(cases.len() >= 30);
        for (input, expected) in &cases {
            let reason = reason_of(input);
            assert!(
                reason.contains(expected),
                "{input:?}: reason {reason:?} does not mention {expected:?}"
            );
        }
    }

    #[test]
    fn error_echo_is_truncated_and_escaped() {
        let input = format!("projects/p\n/{}", "x".repeat(5000));
        let Err(Error::InvalidName { input: shown, .. }) = input.parse::<Target>() else {
            panic!("expected InvalidName");
        };
        assert!(shown.starts_with("projects/p\\n/xxx"), "{shown}");
        assert!(shown.ends_with("... (4892 more bytes)"), "{shown}");
    }

    #[test]
    fn parses_pipeline_job_nas_job_and_flat_operation() {
        let t: Target = JOB.parse().unwrap();
        assert_eq!(t.kind(), TargetKind::PipelineJob);
        assert_eq!(
            (t.project(), t.location(), t.id()),
            ("p", "us-central1", "x")
        );
        assert_eq!(t.service(), Service::VertexAi);
        assert_eq!(
            t.parent().relative_name(),
            "projects/p/locations/us-central1"
        );

        let nas: NasJobName = "projects/example.com:proj/locations/europe-west4/nasJobs/7"
            .parse()
            .unwrap();
        assert_eq!(nas.project(), "example.com:proj");
        assert_eq!(nas.location(), "europe-west4");
        assert_eq!(nas.kind(), TargetKind::NasJob);

        let op: OperationName = "projects/123/locations/global/operations/456"
            .parse()
            .unwrap();
        assert_eq!(
            (op.project(), op.location(), op.id()),
            ("123", "global", "456")
        );
        assert_eq!(op.owner(), "projects/123/locations/global");
        assert_eq!(op.to_string(), op.relative_name());
    }

    #[test]
    fn parses_nested_operations() {
        let op: OperationName = "projects/p/locations/us-central1/pipelineJobs/x/operations/9"
            .parse()
            .unwrap();
        assert_eq!(op.owner(), JOB);
        assert_eq!(op.id(), "9");
        assert_eq!(op.parent().to_string(), "projects/p/locations/us-central1");

        let deep = "projects/p/locations/eu/endpoints/e/deployedModels/d2/operations/o.1";
        let t: Target = deep.parse().unwrap();
        assert_eq!(t.kind(), TargetKind::Operation);
        assert_eq!(t.location(), "eu");
        assert_eq!(t.id(), "o.1");
        let Target::Operation(op) = &t else {
            panic!("expected an operation")
        };
        assert_eq!(
            op.owner(),
            "projects/p/locations/eu/endpoints/e/deployedModels/d2"
        );
        assert_eq!(t.to_string(), deep);
    }

    #[test]
    fn full_names_pick_the_service_and_display_round_trips() {
        let vertex: Target = format!("//aiplatform.googleapis.com/{JOB}")
            .parse()
            .unwrap();
        assert_eq!(vertex.service(), Service::VertexAi);
        assert_eq!(vertex.to_string(), JOB);
        assert_eq!(vertex, JOB.parse().unwrap());
        assert_eq!(
            vertex.full_name(),
            format!("//aiplatform.googleapis.com/{JOB}")
        );

        let full = "//automl.googleapis.com/projects/p/locations/us-central1/operations/1";
        let automl: OperationName = full.parse().unwrap();
        assert_eq!(automl.service(), Service::AutoMl);
        assert_eq!(
            automl.relative_name(),
            "projects/p/locations/us-central1/operations/1"
        );
        assert_eq!(automl.to_string(), full);
        assert_eq!(automl.to_string().parse::<OperationName>().unwrap(), automl);
        assert_eq!(format!("{automl:?}"), format!("OperationName({full:?})"));

        let relative = automl.relative_name().to_owned();
        let vertex_op = OperationName::vertex_ai(&relative).unwrap();
        assert_ne!(vertex_op, automl);
        assert_eq!(vertex_op.clone().with_service(Service::AutoMl), automl);
        assert_eq!(OperationName::automl(&relative).unwrap(), automl);
        assert!(OperationName::automl(full).is_err());
        assert!(OperationName::vertex_ai(JOB).is_err());
    }

    #[test]
    fn typed_parse_refuses_another_kind() {
        let reason = match JOB.parse::<NasJobName>() {
            Err(Error::InvalidName { reason, .. }) => reason,
            other => panic!("unexpected {other:?}"),
        };
        assert!(reason.contains("expected a NAS job name"), "{reason}");
        assert!(reason.contains("found a pipeline job name"), "{reason}");
        assert!(JOB.parse::<PipelineJobName>().is_ok());
        assert!(JOB.parse::<OperationName>().is_err());
    }

    #[test]
    fn constructors_validate_each_part() {
        let job = PipelineJobName::new("p", "us-central1", "x").unwrap();
        assert_eq!(job.relative_name(), JOB);
        assert_eq!(Target::from(job.clone()), JOB.parse().unwrap());
        let nas = NasJobName::new("p", "eu", "7").unwrap();
        assert_eq!(nas.relative_name(), "projects/p/locations/eu/nasJobs/7");
        let op = OperationName::new("p", "global", "1").unwrap();
        assert_eq!(
            op.relative_name(),
            "projects/p/locations/global/operations/1"
        );

        assert!(matches!(
            PipelineJobName::new("p", "us-central1.evil.com", "x"),
            Err(Error::InvalidLocation { .. })
        ));
        match PipelineJobName::new("p", "us-central1", "x/operations/1") {
            Err(Error::InvalidName { reason, .. }) => {
                assert!(reason.starts_with("id contains '/'"))
            }
            other => panic!("unexpected {other:?}"),
        }
        match NasJobName::new("", "us-central1", "1") {
            Err(Error::InvalidName { reason, .. }) => assert_eq!(reason, "project is empty"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn location_names() {
        let loc = LocationName::new("p", "us-central1").unwrap();
        assert_eq!((loc.project(), loc.location()), ("p", "us-central1"));
        assert_eq!(loc.to_string(), "projects/p/locations/us-central1");
        assert_eq!(loc.to_string().parse::<LocationName>().unwrap(), loc);
        match LocationName::new("p", "US") {
            Err(Error::InvalidLocation { location, reason }) => {
                assert_eq!(location, "US");
                assert!(reason.contains("not a plain location id"));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(
            JOB.parse::<LocationName>(),
            Err(Error::InvalidName { .. })
        ));
        assert!(matches!(
            "projects/p/locations/a.b".parse::<LocationName>(),
            Err(Error::InvalidName { .. })
        ));
    }

    #[test]
    fn service_and_kind_words() {
        assert_eq!(Service::AutoMl.to_string(), "automl");
        assert_eq!("vertex-ai".parse::<Service>().unwrap(), Service::VertexAi);
        assert!(matches!(
            "gcs".parse::<Service>(),
            Err(Error::InvalidConfig { .. })
        ));
        let words: Vec<String> = [
            TargetKind::PipelineJob,
            TargetKind::NasJob,
            TargetKind::Operation,
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        assert_eq!(words, ["pipeline-job", "nas-job", "operation"]);
    }

    #[test]
    fn every_kind_has_its_words_and_its_table_row() {
        let words: Vec<&str> = TargetKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(
            words,
            [
                "pipeline-job",
                "nas-job",
                "operation",
                "custom-job",
                "hyperparameter-tuning-job",
                "batch-prediction-job",
                "data-labeling-job",
                "training-pipeline",
                "tuning-job"
            ]
        );
        for (index, kind) in TargetKind::ALL.into_iter().enumerate() {
            assert_eq!(kind as usize, index, "ALL is in discriminant order");
            if kind == TargetKind::Operation {
                continue;
            }
            let name = format!("projects/p/locations/l/{}/123", kind.collection());
            let target: Target = name.parse().unwrap();
            assert_eq!(target.kind(), kind);
            assert!(
                kind.message_name()
                    .starts_with(|c: char| c.is_ascii_uppercase())
            );
        }
        assert_eq!(
            TargetKind::TrainingPipeline.message_name(),
            "TrainingPipeline"
        );
        assert_eq!(
            TargetKind::HyperparameterTuningJob.message_name(),
            "HyperparameterTuningJob"
        );
    }

    fn segment() -> impl Strategy<Value = String> {
        "[A-Za-z0-9._~:-]{1,40}".prop_filter("dot segments", |s| s != "." && s != "..")
    }

    fn location() -> impl Strategy<Value = String> {
        "[a-z][a-z0-9-]{0,30}"
    }

    fn valid_target() -> impl Strategy<Value = Target> {
        let nested = prop::collection::vec(("[a-z][A-Za-z0-9]{0,12}", segment()), 0..3);
        let pipeline_id = "[a-z0-9-]{1,40}";
        (
            segment(),
            location(),
            segment(),
            pipeline_id,
            0..4_u8,
            nested,
        )
            .prop_map(|(project, location, id, pipeline_id, which, nested)| {
                let base = format!("projects/{project}/locations/{location}");
                let relative = match which {
                    0 => format!("{base}/pipelineJobs/{pipeline_id}"),
                    1 => format!("{base}/nasJobs/{id}"),
                    _ => {
                        let owner: String =
                            nested.iter().map(|(c, i)| format!("/{c}/{i}")).collect();
                        format!("{base}{owner}/operations/{id}")
                    }
                };
                let op = OperationName::vertex_ai(&relative);
                match (which, op) {
                    (3, Ok(op)) => Target::from(op.with_service(Service::AutoMl)),
                    _ => relative.parse().expect("generated name is valid"),
                }
            })
    }

    /// A valid name with one small corruption: where parsers usually go wrong.
    fn almost_valid() -> impl Strategy<Value = String> {
        let hostile = prop::sample::select(vec![
            "/",
            "",
            ".",
            "..",
            "%",
            "\n",
            "\0",
            "\u{440}",
            "\u{FF0F}",
            " ",
            "//",
            "@",
            "A",
            "-",
            ":",
            "operations",
            "pipelineJobs/",
            "é",
        ]);
        (
            valid_target(),
            any::<prop::sample::Index>(),
            hostile,
            0..3_u8,
        )
            .prop_map(|(target, at, piece, how)| {
                let mut s = target.to_string();
                let mut i = at.index(s.len() + 1);
                while !s.is_char_boundary(i) {
                    i -= 1;
                }
                match how {
                    0 => s.insert_str(i, piece),
                    1 => {
                        s.truncate(i);
                    }
                    _ => {
                        let end = s[i..].find('/').map_or(s.len(), |j| i + j);
                        s.replace_range(i..end, piece);
                    }
                }
                s
            })
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in ".*") {
            let _ = s.parse::<Target>();
            let _ = s.parse::<LocationName>();
            let _ = OperationName::automl(&s);
        }

        #[test]
        fn almost_valid_names_parse_or_fail_cleanly(s in almost_valid()) {
            if let Ok(t) = s.parse::<Target>() {
                prop_assert_eq!(t.to_string().parse::<Target>().unwrap(), t);
            }
        }

        #[test]
        fn display_then_parse_is_identity(t in valid_target()) {
            let shown = t.to_string();
            prop_assert_eq!(&shown.parse::<Target>().unwrap(), &t);
            let reparsed: Target = t.relative_name().parse().unwrap();
            prop_assert_eq!(reparsed.relative_name(), t.relative_name());
            prop_assert_eq!(t.full_name().parse::<Target>().unwrap(), t.clone());
            prop_assert!(t.parent().relative_name().len() < t.relative_name().len());
        }
    }
}
