//! Turning what the operator typed into validated [`Target`]s, before anything is sent: names
//! from arguments or stdin, short names completed with `--project`/`--region`, `--service
//! automl` for relative operation names, and the region/endpoint check of every target.
//!
//! Every name is checked up front so that a typo in line 900 of a list stops the run before the
//! first cancel, not after 899 of them.

use std::io::BufRead;

use vertex_cancel::{EndpointResolver, LocationName, Service, Target};

use super::args::ServiceArg;
use super::exit::{CliError, error_chain};

/// How many bad names one error message lists.
const SHOWN_BAD_NAMES: usize = 10;

/// Collections a short name may start with.
const COLLECTIONS: [&str; 3] = ["pipelineJobs/", "nasJobs/", "operations/"];

/// What completes and checks names.
#[derive(Debug, Clone, Default)]
pub(crate) struct NameContext {
    /// `--project`.
    pub(crate) project: Option<String>,
    /// `--region`.
    pub(crate) region: Option<String>,
    /// `--service`.
    pub(crate) service: Option<ServiceArg>,
}

impl NameContext {
    /// Parses one name: completes it, applies `--service`, and checks it can be routed.
    pub(crate) fn target(
        &self,
        input: &str,
        resolver: &EndpointResolver,
    ) -> Result<Target, String> {
        let full = self.complete(input)?;
        let target: Target = full.parse().map_err(|e| error_chain(&e))?;
        let target = self.apply_service(input, target)?;
        resolver
            .resolve_target(&target)
            .map_err(|e| error_chain(&e))?;
        Ok(target)
    }

    /// Every name, or none: all problems are reported together (up to [`SHOWN_BAD_NAMES`]).
    pub(crate) fn targets(
        &self,
        inputs: &[String],
        resolver: &EndpointResolver,
    ) -> Result<Vec<Target>, CliError> {
        let mut targets = Vec::with_capacity(inputs.len());
        let mut problems = Vec::new();
        for (i, input) in inputs.iter().enumerate() {
            match self.target(input, resolver) {
                Ok(target) => targets.push(target),
                Err(problem) => problems.push(format!("  name {}: {problem}", i + 1)),
            }
        }
        if problems.is_empty() {
            return Ok(targets);
        }
        let count = problems.len();
        problems.truncate(SHOWN_BAD_NAMES);
        let more = count.saturating_sub(SHOWN_BAD_NAMES);
        let tail = if more > 0 {
            format!("\n  ... and {more} more")
        } else {
            String::new()
        };
        Err(CliError::usage(format!(
            "{count} of {} names are not valid; nothing was sent:\n{}{tail}",
            inputs.len(),
            problems.join("\n")
        )))
    }

    /// The parent of a List: `--parent`, else `projects/{--project}/locations/{--region}`.
    pub(crate) fn parent(&self, parent: Option<&str>) -> Result<LocationName, CliError> {
        let text = match (parent, &self.project, &self.region) {
            (Some(parent), _, _) => parent.to_owned(),
            (None, Some(project), Some(region)) => format!("projects/{project}/locations/{region}"),
            _ => {
                return Err(CliError::usage(
                    "--parent projects/P/locations/L is required (or both --project and --region)",
                ));
            }
        };
        let parent: LocationName = text.parse()?;
        if let Some(region) = &self.region
            && region != parent.location()
        {
            return Err(CliError::usage(format!(
                "--parent is in `{}` but --region is `{region}`",
                parent.location()
            )));
        }
        Ok(parent)
    }

    /// The service `--service` names (Vertex AI when absent).
    pub(crate) fn service(&self) -> Service {
        match self.service {
            Some(ServiceArg::Automl) => Service::AutoMl,
            Some(ServiceArg::Aiplatform) | None => Service::VertexAi,
        }
    }

    /// Completes `locations/...` with `--project`, and `pipelineJobs/...` (or another
    /// collection) with `--project` and `--region`.
    fn complete(&self, input: &str) -> Result<String, String> {
        if input.starts_with("//") || input.starts_with("projects/") {
            return Ok(input.to_owned());
        }
        let project = self.project.as_deref();
        if input.starts_with("locations/") {
            return project
                .map(|p| format!("projects/{p}/{input}"))
                .ok_or_else(|| format!("`{input}` needs --project to complete it"));
        }
        if COLLECTIONS.iter().any(|c| input.starts_with(c)) {
            return match (project, self.region.as_deref()) {
                (Some(p), Some(r)) => Ok(format!("projects/{p}/locations/{r}/{input}")),
                _ => Err(format!(
                    "`{input}` needs --project and --region to complete it"
                )),
            };
        }
        if !input.contains('/') && !input.is_empty() {
            return Err(format!(
                "`{}` is a bare id, which does not say what it names; give \
                 projects/P/locations/L/pipelineJobs/ID (or nasJobs/, operations/), or \
                 pipelineJobs/ID with --project and --region",
                input.escape_default()
            ));
        }
        Ok(input.to_owned())
    }

    /// `--service automl` makes a relative operation name an AutoML one; it cannot apply to a
    /// job or contradict a full name.
    fn apply_service(&self, input: &str, target: Target) -> Result<Target, String> {
        let Some(arg) = self.service else {
            return Ok(target);
        };
        let service = self.service();
        match target {
            Target::Operation(op) if !input.starts_with("//") => {
                Ok(Target::Operation(op.with_service(service)))
            }
            target if target.service() == service => Ok(target),
            Target::Operation(_) => Err(format!(
                "`{input}` names a {} operation, but --service is {}",
                target.service(),
                service_word(arg)
            )),
            _ => Err(format!(
                "`{input}` is a {}; --service {} applies to operations only (AutoML has no jobs)",
                target.kind(),
                service_word(arg)
            )),
        }
    }
}

fn service_word(arg: ServiceArg) -> &'static str {
    match arg {
        ServiceArg::Aiplatform => "aiplatform",
        ServiceArg::Automl => "automl",
    }
}

/// Whether the names are to be read from stdin (`-` alone).
pub(crate) fn from_stdin(names: &[String]) -> bool {
    names.iter().any(|n| n == "-")
}

/// The names themselves: the arguments, or stdin's lines for `-`.
pub(crate) fn read_names(names: &[String]) -> Result<Vec<String>, CliError> {
    if !from_stdin(names) {
        return Ok(names.to_vec());
    }
    if names.len() > 1 {
        return Err(CliError::usage(
            "`-` (names from stdin) cannot be mixed with names on the command line",
        ));
    }
    names_from(std::io::stdin().lock())
}

/// One name per line; blank lines and `#` comments are skipped.
fn names_from(reader: impl BufRead) -> Result<Vec<String>, CliError> {
    let mut names = Vec::new();
    for line in reader.lines() {
        let line = line.map_err(CliError::io("reading names from stdin"))?;
        let name = line.trim();
        if !name.is_empty() && !name.starts_with('#') {
            names.push(name.to_owned());
        }
    }
    if names.is_empty() {
        return Err(CliError::usage("no names on stdin"));
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vertex_cancel::TargetKind;

    const JOB: &str = "projects/p/locations/us-central1/pipelineJobs/1";
    const OP: &str = "projects/p/locations/us-central1/operations/9";

    fn ctx(
        project: Option<&str>,
        region: Option<&str>,
        service: Option<ServiceArg>,
    ) -> NameContext {
        NameContext {
            project: project.map(Into::into),
            region: region.map(Into::into),
            service,
        }
    }

    fn parse(ctx: &NameContext, input: &str) -> Result<Target, String> {
        let mut resolver = EndpointResolver::new();
        if let Some(region) = &ctx.region {
            resolver = resolver.with_region(region).unwrap();
        }
        ctx.target(input, &resolver)
    }

    #[test]
    fn relative_and_full_names_parse() {
        let c = ctx(None, None, None);
        assert_eq!(parse(&c, JOB).unwrap().kind(), TargetKind::PipelineJob);
        let full = format!("//aiplatform.googleapis.com/{OP}");
        assert_eq!(parse(&c, &full).unwrap().service(), Service::VertexAi);
        let automl = format!("//automl.googleapis.com/{OP}");
        assert_eq!(parse(&c, &automl).unwrap().service(), Service::AutoMl);
    }

    #[test]
    fn short_names_are_completed_only_when_unambiguous() {
        let both = ctx(Some("p"), Some("us-central1"), None);
        assert_eq!(parse(&both, "pipelineJobs/1").unwrap().to_string(), JOB);
        assert_eq!(
            parse(&both, "locations/us-central1/pipelineJobs/1")
                .unwrap()
                .to_string(),
            JOB
        );
        let project_only = ctx(Some("p"), None, None);
        assert!(
            parse(&project_only, "pipelineJobs/1")
                .unwrap_err()
                .contains("--region")
        );
        assert!(parse(&both, "1").unwrap_err().contains("bare id"));
    }

    #[test]
    fn service_automl_applies_to_relative_operations_only() {
        let automl = ctx(None, None, Some(ServiceArg::Automl));
        assert_eq!(parse(&automl, OP).unwrap().service(), Service::AutoMl);
        assert!(parse(&automl, JOB).unwrap_err().contains("operations only"));
        let full_vertex = format!("//aiplatform.googleapis.com/{OP}");
        assert!(
            parse(&automl, &full_vertex)
                .unwrap_err()
                .contains("--service")
        );
        let vertex = ctx(None, None, Some(ServiceArg::Aiplatform));
        assert_eq!(parse(&vertex, OP).unwrap().service(), Service::VertexAi);
    }

    #[test]
    fn region_mismatch_and_automl_locations_are_caught_before_sending() {
        let west = ctx(None, Some("europe-west4"), None);
        assert!(parse(&west, JOB).unwrap_err().contains("region"));
        let automl = ctx(None, None, Some(ServiceArg::Automl));
        let op = "projects/p/locations/asia-east1/operations/9";
        assert!(parse(&automl, op).unwrap_err().contains("AutoML"));
    }

    #[test]
    fn all_bad_names_are_reported_together() {
        let c = ctx(None, None, None);
        let inputs = vec![JOB.to_owned(), "nope".to_owned(), "projects/x".to_owned()];
        let err = c.targets(&inputs, &EndpointResolver::new()).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("2 of 3 names"), "{text}");
        assert!(
            text.contains("name 2:") && text.contains("name 3:"),
            "{text}"
        );
    }

    #[test]
    fn stdin_lines_skip_blanks_and_comments() {
        let input = format!("# mine\n\n  {JOB}  \n{OP}\n");
        assert_eq!(names_from(input.as_bytes()).unwrap(), [JOB, OP]);
        assert!(names_from("\n# none\n".as_bytes()).is_err());
    }

    #[test]
    fn parent_comes_from_flag_or_project_and_region() {
        let both = ctx(Some("p"), Some("us-central1"), None);
        assert_eq!(
            both.parent(None).unwrap().to_string(),
            "projects/p/locations/us-central1"
        );
        assert!(both.parent(Some("projects/p/locations/eu")).is_err());
        assert!(ctx(None, None, None).parent(None).is_err());
    }
}
