//! The inventory as series: asset counts and collector freshness, read from the database at
//! most once per refresh interval and served from a snapshot in between.

use entity::enums::{AccountStatus, EndpointKind, EndpointStatus, Provider, RunStatus};
use entity::{cloud_account, collector_run, monitoring_endpoint};
use prometheus::Registry;
use prometheus::core::{Collector, Desc};
use prometheus::proto::{Counter, Gauge, LabelPair, Metric, MetricFamily, MetricType};
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QuerySelect};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

/// One exported family: its name, help, type and label names.
struct Def {
    name: &'static str,
    help: &'static str,
    kind: MetricType,
    labels: &'static [&'static str],
}

const PER_COLLECTOR: &[&str] = &["collector", "scope"];

const CLOUD_ACCOUNTS: Def = Def {
    name: "inventory_cloud_accounts",
    help: "Cloud accounts, projects and subscriptions present (not removed), by provider and status.",
    kind: MetricType::GAUGE,
    labels: &["provider", "status"],
};
const MONITORING_ENDPOINTS: Def = Def {
    name: "inventory_monitoring_endpoints",
    help: "Monitoring endpoints present (not removed), by kind and status at the last check.",
    kind: MetricType::GAUGE,
    labels: &["kind", "status"],
};
const LAST_SUCCESS: Def = Def {
    name: "inventory_collector_last_success_timestamp_seconds",
    help: "When the last successful run of a collector and scope finished (Unix time).",
    kind: MetricType::GAUGE,
    labels: PER_COLLECTOR,
};
const LAST_RUN: Def = Def {
    name: "inventory_collector_last_run_timestamp_seconds",
    help: "When the latest run of a collector and scope started, whatever its outcome (Unix time).",
    kind: MetricType::GAUGE,
    labels: PER_COLLECTOR,
};
const LAST_DURATION: Def = Def {
    name: "inventory_collector_last_run_duration_seconds",
    help: "How long the latest finished run (not skipped) of a collector and scope took.",
    kind: MetricType::GAUGE,
    labels: PER_COLLECTOR,
};
const LAST_ITEMS: Def = Def {
    name: "inventory_collector_last_run_items",
    help: "Assets the latest finished run (not skipped) of a collector and scope saw.",
    kind: MetricType::GAUGE,
    labels: PER_COLLECTOR,
};
const LAST_SUCCEEDED: Def = Def {
    name: "inventory_collector_last_run_success",
    help: "1 when the latest finished run (not skipped) of a collector and scope succeeded, else 0.",
    kind: MetricType::GAUGE,
    labels: PER_COLLECTOR,
};
const RUNNING_SINCE: Def = Def {
    name: "inventory_collector_running_since_timestamp_seconds",
    help: "When the run of a collector and scope that is still going started (Unix time); absent when none runs.",
    kind: MetricType::GAUGE,
    labels: PER_COLLECTOR,
};
const RUNNING_ITEMS: Def = Def {
    name: "inventory_collector_running_items",
    help: "Assets the run of a collector and scope that is still going has seen so far; absent when none runs.",
    kind: MetricType::GAUGE,
    labels: PER_COLLECTOR,
};
const RUNNING_PAGES: Def = Def {
    name: "inventory_collector_running_pages",
    help: "Pages the run of a collector and scope that is still going has written so far; absent when none runs.",
    kind: MetricType::GAUGE,
    labels: PER_COLLECTOR,
};
const RUNS: Def = Def {
    name: "inventory_collector_runs_total",
    help: "Finished runs of a collector and scope, by status (failed and partial runs are the failures).",
    kind: MetricType::COUNTER,
    labels: &["collector", "scope", "status"],
};

const DEFS: [&Def; 11] = [
    &CLOUD_ACCOUNTS,
    &MONITORING_ENDPOINTS,
    &LAST_SUCCESS,
    &LAST_RUN,
    &LAST_DURATION,
    &LAST_ITEMS,
    &LAST_SUCCEEDED,
    &RUNNING_SINCE,
    &RUNNING_ITEMS,
    &RUNNING_PAGES,
    &RUNS,
];

/// Samples per family name: label values and value.
type Samples = BTreeMap<&'static str, Vec<(Vec<String>, f64)>>;

/// The inventory series: refreshed by [`Series::refresh`], gathered by the registry.
pub(super) struct Series {
    snapshot: Arc<Mutex<Vec<MetricFamily>>>,
}

impl Series {
    pub(super) fn register(registry: &Registry) -> prometheus::Result<Self> {
        let snapshot = Arc::new(Mutex::new(Vec::new()));
        let descs = DEFS
            .iter()
            .map(|def| {
                Desc::new(
                    def.name.to_owned(),
                    def.help.to_owned(),
                    def.labels.iter().map(|l| (*l).to_owned()).collect(),
                    Default::default(),
                )
            })
            .collect::<prometheus::Result<Vec<_>>>()?;
        registry.register(Box::new(SnapshotCollector {
            descs,
            snapshot: Arc::clone(&snapshot),
        }))?;
        Ok(Self { snapshot })
    }

    /// Reads counts and freshness and replaces the snapshot; on error the old one stays.
    pub(super) async fn refresh(&self, db: &DatabaseConnection) -> Result<(), DbErr> {
        let samples = read(db).await?;
        let families = DEFS
            .iter()
            .filter_map(|def| family(def, samples.get(def.name)?))
            .collect();
        *self.snapshot.lock().unwrap_or_else(PoisonError::into_inner) = families;
        Ok(())
    }
}

struct SnapshotCollector {
    descs: Vec<Desc>,
    snapshot: Arc<Mutex<Vec<MetricFamily>>>,
}

impl Collector for SnapshotCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        self.snapshot
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// A family with at least one sample (the text format has no empty families).
fn family(def: &Def, samples: &[(Vec<String>, f64)]) -> Option<MetricFamily> {
    if samples.is_empty() {
        return None;
    }
    let mut family = MetricFamily::default();
    family.set_name(def.name.to_owned());
    family.set_help(def.help.to_owned());
    family.set_field_type(def.kind);
    let metrics = samples
        .iter()
        .map(|(values, value)| {
            let mut metric = Metric::default();
            metric.set_label(
                def.labels
                    .iter()
                    .zip(values)
                    .map(|(name, value)| {
                        let mut pair = LabelPair::default();
                        pair.set_name((*name).to_owned());
                        pair.set_value(value.clone());
                        pair
                    })
                    .collect(),
            );
            if def.kind == MetricType::COUNTER {
                let mut counter = Counter::default();
                counter.set_value(*value);
                metric.set_counter(counter);
            } else {
                let mut gauge = Gauge::default();
                gauge.set_value(*value);
                metric.set_gauge(gauge);
            }
            metric
        })
        .collect();
    family.set_metric(metrics);
    Some(family)
}

/// Everything the series show, in a handful of grouped queries (the run queries use the
/// `(collector, scope, id)` index).
async fn read(db: &DatabaseConnection) -> Result<Samples, DbErr> {
    let mut samples = Samples::new();
    let mut add = |def: &Def, labels: Vec<String>, value: f64| {
        samples.entry(def.name).or_default().push((labels, value));
    };

    let accounts: Vec<(Provider, AccountStatus, i64)> = cloud_account::Entity::find()
        .select_only()
        .column(cloud_account::Column::Provider)
        .column(cloud_account::Column::Status)
        .column_as(cloud_account::Column::Id.count(), "n")
        .filter(cloud_account::Column::RemovedAt.is_null())
        .group_by(cloud_account::Column::Provider)
        .group_by(cloud_account::Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    for (provider, status, n) in accounts {
        add(
            &CLOUD_ACCOUNTS,
            vec![provider.to_string(), status.to_string()],
            n as f64,
        );
    }

    let endpoints: Vec<(EndpointKind, EndpointStatus, i64)> = monitoring_endpoint::Entity::find()
        .select_only()
        .column(monitoring_endpoint::Column::Kind)
        .column(monitoring_endpoint::Column::Status)
        .column_as(monitoring_endpoint::Column::Id.count(), "n")
        .filter(monitoring_endpoint::Column::RemovedAt.is_null())
        .group_by(monitoring_endpoint::Column::Kind)
        .group_by(monitoring_endpoint::Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    for (kind, status, n) in endpoints {
        add(
            &MONITORING_ENDPOINTS,
            vec![kind.to_string(), status.to_string()],
            n as f64,
        );
    }

    use collector_run::Column;
    let counts: Vec<(String, String, RunStatus, i64)> = collector_run::Entity::find()
        .select_only()
        .column(Column::Collector)
        .column(Column::Scope)
        .column(Column::Status)
        .column_as(Column::Id.count(), "n")
        .filter(Column::Status.ne(RunStatus::Running))
        .group_by(Column::Collector)
        .group_by(Column::Scope)
        .group_by(Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    for (collector, scope, status, n) in counts {
        add(&RUNS, vec![collector, scope, status.to_string()], n as f64);
    }

    let latest = latest_runs(db, None).await?;
    let succeeded = latest_runs(db, Some(&[RunStatus::Succeeded])).await?;
    let finished = latest_runs(
        db,
        Some(&[RunStatus::Succeeded, RunStatus::Partial, RunStatus::Failed]),
    )
    .await?;
    let labels = |run: &collector_run::Model| vec![run.collector.clone(), run.scope.clone()];
    let unix = |at: chrono::DateTime<chrono::Utc>| at.timestamp_millis() as f64 / 1000.0;
    for run in &latest {
        add(&LAST_RUN, labels(run), unix(run.started_at));
        if run.status == RunStatus::Running {
            add(&RUNNING_SINCE, labels(run), unix(run.started_at));
            add(&RUNNING_ITEMS, labels(run), run.seen as f64);
            add(&RUNNING_PAGES, labels(run), run.pages as f64);
        }
    }
    for run in &succeeded {
        add(
            &LAST_SUCCESS,
            labels(run),
            unix(run.finished_at.unwrap_or(run.started_at)),
        );
    }
    for run in &finished {
        let seconds = run
            .finished_at
            .map_or(0.0, |end| (end - run.started_at).as_seconds_f64().max(0.0));
        add(&LAST_DURATION, labels(run), seconds);
        add(&LAST_ITEMS, labels(run), run.seen as f64);
        add(
            &LAST_SUCCEEDED,
            labels(run),
            f64::from(u8::from(run.status == RunStatus::Succeeded)),
        );
    }
    Ok(samples)
}

/// The latest run per collector and scope, among runs with one of `statuses` (any when
/// `None`).
async fn latest_runs(
    db: &DatabaseConnection,
    statuses: Option<&[RunStatus]>,
) -> Result<Vec<collector_run::Model>, DbErr> {
    use collector_run::Column;
    let mut ids = collector_run::Entity::find()
        .select_only()
        .column_as(Column::Id.max(), "id")
        .group_by(Column::Collector)
        .group_by(Column::Scope);
    if let Some(statuses) = statuses {
        ids = ids.filter(Column::Status.is_in(statuses.iter().copied()));
    }
    let ids: Vec<i64> = ids.into_tuple().all(db).await?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    collector_run::Entity::find()
        .filter(Column::Id.is_in(ids))
        .all(db)
        .await
}
