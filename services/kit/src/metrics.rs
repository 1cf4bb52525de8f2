//! Every metric wuye emits, in one catalog: the RPC metrics (RED) of the gateway and the
//! services, the event followers' progress, and the domain gauges each service counts from
//! its database. Dashboards and alert rules may use only these names (a test checks it), in
//! their Prometheus form ([`Metric::prometheus_names`]).
//!
//! Attributes never carry personal data: property ids, method names, status codes, codes of
//! severities and kinds.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{Mutex, OnceLock},
};

use opentelemetry::{KeyValue, metrics::Meter};

use crate::{clock::SharedClock, db::Db, properties::Properties};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Histogram,
    Gauge,
}

/// One metric: its OpenTelemetry name, kind, unit (UCUM; `{…}` annotations add no suffix)
/// and attributes.
#[derive(Debug, Clone, Copy)]
pub struct Metric {
    pub name: &'static str,
    pub kind: Kind,
    pub unit: &'static str,
    pub description: &'static str,
    pub attributes: &'static [&'static str],
}

impl Metric {
    /// The series names the OpenTelemetry Collector's Prometheus exporter makes of it: dots
    /// become underscores, a unit adds its suffix (`s` → `_seconds`), counters end in
    /// `_total`, and a histogram is its `_bucket`, `_sum` and `_count`.
    pub fn prometheus_names(&self) -> Vec<String> {
        let mut base = self.name.replace('.', "_");
        match self.unit {
            "s" => base.push_str("_seconds"),
            "By" => base.push_str("_bytes"),
            _ => {}
        }
        match self.kind {
            Kind::Counter => vec![format!("{base}_total")],
            Kind::Gauge => vec![base],
            Kind::Histogram => ["_bucket", "_sum", "_count"]
                .iter()
                .map(|suffix| format!("{base}{suffix}"))
                .collect(),
        }
    }
}

pub const RPC_REQUESTS: Metric = Metric {
    name: "wuye.rpc.server.requests",
    kind: Kind::Counter,
    unit: "{request}",
    description: "Calls served, by component, method, property and gRPC status code.",
    attributes: &["service", "method", "property", "code"],
};

pub const RPC_ERRORS: Metric = Metric {
    name: "wuye.rpc.server.errors",
    kind: Kind::Counter,
    unit: "{request}",
    description: "Calls that failed on the server's side (UNKNOWN, INTERNAL, UNAVAILABLE, \
                  DEADLINE_EXCEEDED, DATA_LOSS, UNIMPLEMENTED); refusals by the rules are not \
                  errors.",
    attributes: &["service", "method", "property", "code"],
};

pub const RPC_DURATION: Metric = Metric {
    name: "wuye.rpc.server.duration",
    kind: Kind::Histogram,
    unit: "s",
    description: "Time from a call's arrival to the end of its answer.",
    attributes: &["service", "method", "code"],
};

pub const EVENTS_APPLIED: Metric = Metric {
    name: "wuye.events.applied",
    kind: Kind::Counter,
    unit: "{event}",
    description: "Events a consumer applied (duplicates skipped are not counted).",
    attributes: &["consumer"],
};

pub const EVENTS_LAG: Metric = Metric {
    name: "wuye.events.lag",
    kind: Kind::Gauge,
    unit: "s",
    description: "How far a consumer is behind its source: the age of the event it applied \
                  last while more were waiting, 0 once it has caught up.",
    attributes: &["consumer"],
};

pub const EVENTS_FAILURES: Metric = Metric {
    name: "wuye.events.failures",
    kind: Kind::Counter,
    unit: "{failure}",
    description: "Times a consumer lost its event stream or failed to apply an event (it \
                  retries with backoff).",
    attributes: &["consumer"],
};

pub const COMPLAINTS_OPEN: Metric = Metric {
    name: "wuye.complaints.open",
    kind: Kind::Gauge,
    unit: "{complaint}",
    description: "Complaints not closed, per property and severity (CMP-4).",
    attributes: &["property", "severity"],
};

pub const COMPLAINTS_REPLIES_OVERDUE: Metric = Metric {
    name: "wuye.complaints.replies_overdue",
    kind: Kind::Gauge,
    unit: "{complaint}",
    description: "Complaints past their reply deadline (CMP-3) whose remedial measures have \
                  not been communicated to the complainant, per property.",
    attributes: &["property"],
};

pub const INSPECTIONS_MISSED: Metric = Metric {
    name: "wuye.inspections.missed",
    kind: Kind::Gauge,
    unit: "{inspection}",
    description: "Inspections past their due time and not recorded, per property and kind \
                  (INS-1, INS-3).",
    attributes: &["property", "kind"],
};

pub const ARCHIVES_FILES_LATE: Metric = Metric {
    name: "wuye.archives.files_late",
    kind: Kind::Gauge,
    unit: "{file}",
    description: "Household files past their filing deadline and still incomplete, per \
                  property (ARC-3).",
    attributes: &["property"],
};

pub const KEYS_LOANS_OVERDUE: Metric = Metric {
    name: "wuye.keys.loans_overdue",
    kind: Kind::Gauge,
    unit: "{loan}",
    description: "Key loans still out past their limit (KEY-8, the property's \
                  overdue_after_days), per property.",
    attributes: &["property"],
};

pub const ESCALATIONS_WAITING: Metric = Metric {
    name: "wuye.escalations.waiting",
    kind: Kind::Gauge,
    unit: "{escalation}",
    description: "Escalations the quality department has received and not closed (ESC-3), \
                  per property and state; information_requested waits on the property.",
    attributes: &["property", "state"],
};

/// Everything wuye emits.
pub const CATALOG: &[Metric] = &[
    RPC_REQUESTS,
    RPC_ERRORS,
    RPC_DURATION,
    EVENTS_APPLIED,
    EVENTS_LAG,
    EVENTS_FAILURES,
    COMPLAINTS_OPEN,
    COMPLAINTS_REPLIES_OVERDUE,
    INSPECTIONS_MISSED,
    ARCHIVES_FILES_LATE,
    KEYS_LOANS_OVERDUE,
    ESCALATIONS_WAITING,
];

/// The meter every wuye instrument comes from. Take instruments after
/// [`crate::telemetry::init`]: before it, they are no-ops for good.
pub fn meter() -> Meter {
    opentelemetry::global::meter("wuye")
}

/// A domain gauge counted by SQL. The query returns `(property_id, value)` rows, or
/// `(property_id, label, value)` rows when the gauge has a label; with `now` it receives the
/// current instant (microseconds, UTC) as `$1`. Every property and label value the query does
/// not return reports 0, so that alerts resolve.
#[derive(Debug, Clone, Copy)]
pub struct GaugeQuery {
    pub metric: &'static Metric,
    /// The label attribute and all its values.
    pub label: Option<(&'static str, &'static [&'static str])>,
    pub now: bool,
    pub sql: &'static str,
}

type Series = BTreeMap<(String, String), i64>;

/// The last counts of every domain gauge of the process, read by the gauges' callbacks.
fn counts() -> &'static Mutex<BTreeMap<&'static str, Series>> {
    static COUNTS: OnceLock<Mutex<BTreeMap<&'static str, Series>>> = OnceLock::new();
    COUNTS.get_or_init(Default::default)
}

/// Registers the gauge once per process (all-in-one runs several services in one).
fn register(query: &GaugeQuery) {
    static REGISTERED: OnceLock<Mutex<BTreeSet<&'static str>>> = OnceLock::new();
    let mut registered = REGISTERED
        .get_or_init(Default::default)
        .lock()
        .expect("gauge registry");
    if !registered.insert(query.metric.name) {
        return;
    }
    let name = query.metric.name;
    let label = query.label.map(|(key, _)| key);
    meter()
        .i64_observable_gauge(name)
        .with_description(query.metric.description)
        .with_unit(query.metric.unit)
        .with_callback(move |observer| {
            let counts = counts().lock().expect("gauge counts");
            for ((property, value), count) in counts.get(name).into_iter().flatten() {
                let mut attributes = vec![KeyValue::new("property", property.clone())];
                if let Some(key) = label {
                    attributes.push(KeyValue::new(key, value.clone()));
                }
                observer.observe(*count, &attributes);
            }
        })
        .build();
}

/// A background task (see [`crate::server::Server::with_task`]) that recounts `queries` every
/// metrics interval. It does nothing when metrics are not exported.
pub async fn count_gauges(
    db: Db,
    clock: SharedClock,
    properties: Properties,
    queries: &'static [GaugeQuery],
) {
    if !crate::telemetry::exporting() {
        return;
    }
    for query in queries {
        assert!(
            CATALOG.iter().any(|m| m.name == query.metric.name),
            "{} is not in the metrics catalog",
            query.metric.name
        );
        register(query);
    }
    let mut tick = tokio::time::interval(crate::telemetry::metrics_interval());
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        for query in queries {
            match count(&db, &clock, &properties, query).await {
                Ok(series) => {
                    counts()
                        .lock()
                        .expect("gauge counts")
                        .insert(query.metric.name, series);
                }
                Err(e) => {
                    tracing::warn!(metric = query.metric.name, error = %e, "counting a gauge failed")
                }
            }
        }
    }
}

// DEBUG: counting runs outside any call; at INFO every recount would be a trace of its own.
#[tracing::instrument(name = "db.count", level = "debug", skip_all, fields(metric = query.metric.name))]
async fn count(
    db: &Db,
    clock: &SharedClock,
    properties: &Properties,
    query: &GaugeQuery,
) -> crate::Result<Series> {
    let mut series = Series::new();
    let labels: &[&str] = query.label.map(|(_, values)| values).unwrap_or(&[""]);
    for property in properties.iter() {
        for label in labels {
            series.insert((property.id.clone(), (*label).to_owned()), 0);
        }
    }
    let mut sql = sqlx::query(query.sql);
    if query.now {
        sql = sql.bind(crate::db::to_micros(clock.now()));
    }
    for row in sql.fetch_all(db.pool()).await? {
        use sqlx::Row;
        let property: String = row.try_get(0)?;
        let (label, value): (String, i64) = if query.label.is_some() {
            (row.try_get(1)?, row.try_get(2)?)
        } else {
            (String::new(), row.try_get(1)?)
        };
        series.insert((property, label), value);
    }
    Ok(series)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_names_follow_the_collector() {
        assert_eq!(
            RPC_DURATION.prometheus_names(),
            [
                "wuye_rpc_server_duration_seconds_bucket",
                "wuye_rpc_server_duration_seconds_sum",
                "wuye_rpc_server_duration_seconds_count"
            ]
        );
        assert_eq!(
            RPC_REQUESTS.prometheus_names(),
            ["wuye_rpc_server_requests_total"]
        );
        assert_eq!(COMPLAINTS_OPEN.prometheus_names(), ["wuye_complaints_open"]);
        assert_eq!(EVENTS_LAG.prometheus_names(), ["wuye_events_lag_seconds"]);
    }

    #[test]
    fn names_are_unique() {
        let names: BTreeSet<_> = CATALOG.iter().map(|m| m.name).collect();
        assert_eq!(names.len(), CATALOG.len());
    }
}
