//! A List's `order_by`, for the two Lists whose request has one (ListPipelineJobs,
//! ListDataLabelingJobs), and the page token that carries a page's position in that order.
//!
//! ListPipelineJobs documents "a comma-separated list of fields to order by ... Use "desc" after
//! a field name for descending", over `create_time`, `update_time`, `end_time` and `start_time`,
//! and, without `order_by`, "create time in descending order". ListDataLabelingJobs documents
//! the syntax but no fields; the fake takes the two times a DataLabelingJob has (`create_time`,
//! `update_time`). Any other field is INVALID_ARGUMENT,
//! as Google refuses an order it does not support. Ties, and every other List, go by name.
//!
//! The page token is the last name returned, followed (when the order has fields) by `@` and
//! that item's sort values: a name never contains `@`, and a token stays valid when items are
//! inserted or deleted between pages.

use std::cmp::Ordering;
use std::time::SystemTime;

use super::filter::Subject;
use super::names::ResourceKind;

/// The fields an `order_by` may name (a pipeline job's; a data labeling job has the first two).
const ORDER_FIELDS: &[&str] = &["create_time", "update_time", "end_time", "start_time"];

/// The fields a List of `kind` may be ordered by: those of [`ORDER_FIELDS`] the resource has.
fn order_fields(kind: ResourceKind) -> &'static [&'static str] {
    match kind {
        ResourceKind::PipelineJob => ORDER_FIELDS,
        _ => &ORDER_FIELDS[..2],
    }
}

/// One field of an order, and whether it runs newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key {
    field: usize,
    descending: bool,
}

/// A List's order: its fields, then the name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Order {
    keys: Vec<Key>,
}

/// Where an item sits in an [`Order`]: its sort values (nanoseconds since the epoch; `None`
/// for a time not set, which sorts before any time) and its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Position {
    values: Vec<Option<i128>>,
    pub(crate) name: String,
}

impl Order {
    /// Reads `order_by` for a List of `kind` (empty: the List's default order, which is also
    /// the order of a List whose request has no `order_by`).
    ///
    /// # Errors
    /// A reason, fit for a `BadRequest` violation on `order_by`.
    pub(crate) fn parse(kind: ResourceKind, order_by: &str) -> Result<Self, String> {
        let text = match order_by.trim() {
            "" if kind == ResourceKind::PipelineJob => "create_time desc",
            text => text,
        };
        let mut keys = Vec::new();
        for part in text.split(',').filter(|p| !p.trim().is_empty()) {
            let words: Vec<&str> = part.split_whitespace().collect();
            let (name, descending) = match words[..] {
                [name] => (name, false),
                [name, direction] if direction.eq_ignore_ascii_case("desc") => (name, true),
                [name, direction] if direction.eq_ignore_ascii_case("asc") => (name, false),
                _ => return Err(format!("{part:?} is not `FIELD` or `FIELD desc`")),
            };
            let allowed = order_fields(kind);
            let field = allowed.iter().position(|f| *f == name).ok_or_else(|| {
                format!(
                    "{name:?} is not a field {}s can be ordered by; they can be by {}",
                    kind.message_name(),
                    allowed.join(", ")
                )
            })?;
            keys.push(Key { field, descending });
        }
        Ok(Self { keys })
    }

    /// Where `subject`, named `name`, sits in this order.
    pub(crate) fn position(&self, subject: &Subject<'_>, name: &str) -> Position {
        let values = self
            .keys
            .iter()
            .map(|key| {
                let time = match key.field {
                    0 => Some(subject.create_time),
                    1 => Some(subject.update_time),
                    2 => subject.end_time,
                    _ => subject.start_time,
                };
                time.map(nanos)
            })
            .collect();
        Position {
            values,
            name: name.to_owned(),
        }
    }

    /// How two positions compare in this order.
    pub(crate) fn cmp(&self, a: &Position, b: &Position) -> Ordering {
        self.keys
            .iter()
            .zip(a.values.iter().zip(&b.values))
            .map(|(key, (x, y))| {
                let order = x.cmp(y);
                if key.descending {
                    order.reverse()
                } else {
                    order
                }
            })
            .find(|o| o.is_ne())
            .unwrap_or_else(|| a.name.cmp(&b.name))
    }

    /// The page token for a page ending at `last`.
    pub(crate) fn token(&self, last: &Position) -> String {
        let mut token = last.name.clone();
        if !self.keys.is_empty() {
            let values: Vec<String> = last
                .values
                .iter()
                .map(|v| v.map_or_else(|| "-".to_owned(), |n| n.to_string()))
                .collect();
            token.push('@');
            token.push_str(&values.join(","));
        }
        token
    }

    /// Reads a page token this order made; `None` if it is not one.
    pub(crate) fn read_token(&self, token: &str) -> Option<Position> {
        let (name, values) = match token.split_once('@') {
            Some((name, values)) if !self.keys.is_empty() => {
                let values = values
                    .split(',')
                    .map(|v| match v {
                        "-" => Some(None),
                        n => n.parse().ok().map(Some),
                    })
                    .collect::<Option<Vec<_>>>()?;
                (name, values)
            }
            None if self.keys.is_empty() => (token, Vec::new()),
            _ => return None,
        };
        (values.len() == self.keys.len()).then(|| Position {
            values,
            name: name.to_owned(),
        })
    }
}

fn nanos(t: SystemTime) -> i128 {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => i128::try_from(d.as_nanos()).unwrap_or(i128::MAX),
        Err(e) => -i128::try_from(e.duration().as_nanos()).unwrap_or(i128::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::time::Duration;

    #[test]
    fn a_list_is_ordered_only_by_times_its_resource_has() {
        let labeling = ResourceKind::DataLabelingJob;
        assert!(Order::parse(labeling, "update_time desc, create_time").is_ok());
        for missing in ["end_time", "start_time desc"] {
            assert!(Order::parse(labeling, missing).is_err(), "{missing}");
            assert!(
                Order::parse(ResourceKind::PipelineJob, missing).is_ok(),
                "{missing}"
            );
        }
    }

    fn subject(labels: &HashMap<String, String>, created: u64, ended: Option<u64>) -> Subject<'_> {
        let at = |s: u64| SystemTime::UNIX_EPOCH + Duration::from_secs(s);
        Subject {
            id: "",
            state: crate::State::Running,
            display_name: "",
            labels,
            create_time: at(created),
            update_time: at(created),
            start_time: Some(at(created)),
            end_time: ended.map(at),
        }
    }

    #[test]
    fn pipeline_jobs_default_to_newest_first_and_others_to_names() {
        let labels = HashMap::new();
        let pj = Order::parse(ResourceKind::PipelineJob, "").unwrap();
        let old = pj.position(&subject(&labels, 1, None), "b");
        let new = pj.position(&subject(&labels, 2, None), "a");
        assert_eq!(pj.cmp(&new, &old), Ordering::Less);
        let by_name = Order::parse(ResourceKind::DataLabelingJob, "").unwrap();
        let (old, new) = (
            by_name.position(&subject(&labels, 1, None), "b"),
            by_name.position(&subject(&labels, 2, None), "a"),
        );
        assert_eq!(by_name.cmp(&new, &old), Ordering::Less);
        assert_eq!(by_name.token(&new), "a");
    }

    #[test]
    fn several_fields_unset_times_and_tokens() {
        let labels = HashMap::new();
        let order = Order::parse(ResourceKind::PipelineJob, "end_time, create_time desc").unwrap();
        let running = order.position(&subject(&labels, 5, None), "r");
        let ended = order.position(&subject(&labels, 1, Some(3)), "e");
        assert_eq!(order.cmp(&running, &ended), Ordering::Less);
        let token = order.token(&ended);
        assert_eq!(order.read_token(&token), Some(ended));
        assert_eq!(order.read_token(&order.token(&running)), Some(running));
        assert_eq!(
            order.read_token("projects/p/locations/l/pipelineJobs/x"),
            None
        );
        assert_eq!(order.read_token("x@1"), None, "one value for two fields");
    }

    #[test]
    fn refusals() {
        for bad in ["name", "create_time up", "create_time desc extra", "labels"] {
            assert!(
                Order::parse(ResourceKind::PipelineJob, bad).is_err(),
                "{bad}"
            );
        }
        assert!(Order::parse(ResourceKind::PipelineJob, "update_time ASC, start_time").is_ok());
    }
}
