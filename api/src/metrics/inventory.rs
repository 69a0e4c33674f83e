//! The inventory as series: asset counts and collector freshness, read from the database at
//! most once per refresh interval and served from a snapshot in between.

use entity::collector_run;
use entity::enums::RunStatus;
use entity::query;
use prometheus::{GaugeVec, IntCounterVec, IntGaugeVec, Opts, Registry};
use sea_orm::{DatabaseConnection, DbErr};

/// The inventory as gauges and counters of the `prometheus` crate, their values replaced by
/// each refresh.
pub(super) struct Series {
    cloud_accounts: IntGaugeVec,
    monitoring_endpoints: IntGaugeVec,
    last_success: GaugeVec,
    last_run: GaugeVec,
    last_duration: GaugeVec,
    last_items: IntGaugeVec,
    last_succeeded: IntGaugeVec,
    running_since: GaugeVec,
    running_items: IntGaugeVec,
    running_pages: IntGaugeVec,
    runs: IntCounterVec,
}

const PER_COLLECTOR: &[&str] = &["collector", "scope"];

impl Series {
    pub(super) fn register(registry: &Registry) -> prometheus::Result<Self> {
        fn opts(name: &str, help: &str) -> Opts {
            Opts::new(name, help)
        }
        let series = Self {
            cloud_accounts: IntGaugeVec::new(
                opts(
                    "inventory_cloud_accounts",
                    "Cloud accounts, projects and subscriptions present (not removed), by provider and status.",
                ),
                &["provider", "status"],
            )?,
            monitoring_endpoints: IntGaugeVec::new(
                opts(
                    "inventory_monitoring_endpoints",
                    "Monitoring endpoints present (not removed), by kind and status at the last check.",
                ),
                &["kind", "status"],
            )?,
            last_success: GaugeVec::new(
                opts(
                    "inventory_collector_last_success_timestamp_seconds",
                    "When the last successful run of a collector and scope finished (Unix time).",
                ),
                PER_COLLECTOR,
            )?,
            last_run: GaugeVec::new(
                opts(
                    "inventory_collector_last_run_timestamp_seconds",
                    "When the latest run of a collector and scope started, whatever its outcome (Unix time).",
                ),
                PER_COLLECTOR,
            )?,
            last_duration: GaugeVec::new(
                opts(
                    "inventory_collector_last_run_duration_seconds",
                    "How long the latest finished run (not skipped) of a collector and scope took.",
                ),
                PER_COLLECTOR,
            )?,
            last_items: IntGaugeVec::new(
                opts(
                    "inventory_collector_last_run_items",
                    "Assets the latest finished run (not skipped) of a collector and scope saw.",
                ),
                PER_COLLECTOR,
            )?,
            last_succeeded: IntGaugeVec::new(
                opts(
                    "inventory_collector_last_run_success",
                    "1 when the latest finished run (not skipped) of a collector and scope succeeded, else 0.",
                ),
                PER_COLLECTOR,
            )?,
            running_since: GaugeVec::new(
                opts(
                    "inventory_collector_running_since_timestamp_seconds",
                    "When the run of a collector and scope that is still going started (Unix time); absent when none runs.",
                ),
                PER_COLLECTOR,
            )?,
            running_items: IntGaugeVec::new(
                opts(
                    "inventory_collector_running_items",
                    "Assets the run of a collector and scope that is still going has seen so far; absent when none runs.",
                ),
                PER_COLLECTOR,
            )?,
            running_pages: IntGaugeVec::new(
                opts(
                    "inventory_collector_running_pages",
                    "Pages the run of a collector and scope that is still going has written so far; absent when none runs.",
                ),
                PER_COLLECTOR,
            )?,
            runs: IntCounterVec::new(
                opts(
                    "inventory_collector_runs_total",
                    "Finished runs of a collector and scope, by status (failed and partial runs are the failures).",
                ),
                &["collector", "scope", "status"],
            )?,
        };
        for collector in series.collectors() {
            registry.register(collector)?;
        }
        Ok(series)
    }

    fn collectors(&self) -> Vec<Box<dyn prometheus::core::Collector>> {
        vec![
            Box::new(self.cloud_accounts.clone()),
            Box::new(self.monitoring_endpoints.clone()),
            Box::new(self.last_success.clone()),
            Box::new(self.last_run.clone()),
            Box::new(self.last_duration.clone()),
            Box::new(self.last_items.clone()),
            Box::new(self.last_succeeded.clone()),
            Box::new(self.running_since.clone()),
            Box::new(self.running_items.clone()),
            Box::new(self.running_pages.clone()),
            Box::new(self.runs.clone()),
        ]
    }

    /// Reads counts and freshness and replaces every value; on error the old ones stay.
    /// The caller keeps scrapes out while this runs, so none sees a half-replaced set.
    pub(super) async fn refresh(&self, db: &DatabaseConnection) -> Result<(), DbErr> {
        let accounts = query::account_counts(db).await?;
        let endpoints = query::endpoint_counts(db).await?;
        let runs = query::run_counts(db).await?;
        let latest = query::latest_runs(db, &[]).await?;
        let succeeded = query::latest_runs(db, &[RunStatus::Succeeded]).await?;
        let finished = query::latest_runs(
            db,
            &[RunStatus::Succeeded, RunStatus::Partial, RunStatus::Failed],
        )
        .await?;

        self.reset();
        for (provider, status, n) in accounts {
            self.cloud_accounts
                .with_label_values(&[&provider.to_string(), &status.to_string()])
                .set(n);
        }
        for (kind, status, n) in endpoints {
            self.monitoring_endpoints
                .with_label_values(&[&kind.to_string(), &status.to_string()])
                .set(n);
        }
        for (collector, scope, status, n) in runs {
            self.runs
                .with_label_values(&[collector.as_str(), scope.as_str(), &status.to_string()])
                .inc_by(u64::try_from(n).unwrap_or_default());
        }
        let labels = |run: &collector_run::Model| [run.collector.clone(), run.scope.clone()];
        let unix = |at: chrono::DateTime<chrono::Utc>| at.timestamp_millis() as f64 / 1000.0;
        for run in &latest {
            let labels = labels(run);
            self.last_run
                .with_label_values(&labels)
                .set(unix(run.started_at));
            if run.status == RunStatus::Running {
                self.running_since
                    .with_label_values(&labels)
                    .set(unix(run.started_at));
                self.running_items.with_label_values(&labels).set(run.seen);
                self.running_pages.with_label_values(&labels).set(run.pages);
            }
        }
        for run in &succeeded {
            self.last_success
                .with_label_values(&labels(run))
                .set(unix(run.finished_at.unwrap_or(run.started_at)));
        }
        for run in &finished {
            let labels = labels(run);
            let seconds = run
                .finished_at
                .map_or(0.0, |end| (end - run.started_at).as_seconds_f64().max(0.0));
            self.last_duration.with_label_values(&labels).set(seconds);
            self.last_items.with_label_values(&labels).set(run.seen);
            self.last_succeeded
                .with_label_values(&labels)
                .set(i64::from(run.status == RunStatus::Succeeded));
        }
        Ok(())
    }

    /// Every series without its samples: a collector and scope, a provider or a kind gone
    /// from the database is gone from the exposition too.
    fn reset(&self) {
        self.cloud_accounts.reset();
        self.monitoring_endpoints.reset();
        self.last_success.reset();
        self.last_run.reset();
        self.last_duration.reset();
        self.last_items.reset();
        self.last_succeeded.reset();
        self.running_since.reset();
        self.running_items.reset();
        self.running_pages.reset();
        self.runs.reset();
    }
}
