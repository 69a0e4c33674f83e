//! Fills a database through the write path for the benchmarks (`api/bench/run`), and measures
//! that write: N accounts across the three clouds (half AWS, 30 % GCP, 20 % Azure) with
//! provider-shaped raw records of about 1 KB, tags and nested hierarchies, written page by
//! page as collector runs would; then the same pages again, unchanged; then M endpoints.
//! Prints one `write` line per pass with rows/s.
//!
//!   cargo run --release -p api --example bench_data -- --database-url URL --accounts N --endpoints M
//!
//! Ids are deterministic so the load scenarios can name rows without asking: AWS account n
//! is `100000000000 + n`, GCP project n `proj-<n:06>`, Azure subscription n a UUID-shaped id
//! ending in n.

use chrono::{Duration, TimeZone, Utc};
use clap::Parser;
use entity::db::{DbOptions, connect};
use entity::enums::{AccountStatus, AssetType, EndpointKind, EndpointStatus, Provider, RunStatus};
use entity::record::{AccountRecord, Ancestor, EndpointRecord};
use entity::run::{RunOutcome, finish_run, start_run};
use entity::write::{WriteContext, WriteCounts, remove_unseen, upsert_accounts, upsert_endpoints};
use serde_json::json;
use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration as Elapsed, Instant};

/// The allocator `inventory-collect` runs on, so the write path is measured as collectors
/// run it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
struct Args {
    #[arg(long)]
    database_url: String,
    #[arg(long, default_value = "inventory")]
    database_schema: String,
    #[arg(long, default_value_t = 100_000)]
    accounts: u64,
    #[arg(long, default_value_t = 10_000)]
    endpoints: u64,
    /// Rows per write, as a collector page.
    #[arg(long, default_value_t = 1_000)]
    page: usize,
    /// Leave the accounts of the scopes that this write does not name: a partial write into
    /// a filled database (the collector writing during the cache benchmark's mixed load).
    #[arg(long)]
    keep_unseen: bool,
}

const TEAMS: [&str; 10] = [
    "payments", "search", "checkout", "identity", "ledger", "ml", "data", "web", "mobile", "infra",
];
const ENVS: [&str; 3] = ["prod", "staging", "dev"];

fn provider_of(n: u64, total: u64) -> (Provider, u64) {
    let aws = total / 2;
    let gcp = total * 3 / 10;
    if n < aws {
        (Provider::Aws, n)
    } else if n < aws + gcp {
        (Provider::Gcp, n - aws)
    } else {
        (Provider::Azure, n - aws - gcp)
    }
}

fn ancestor(id: String, name: &str, kind: &str) -> Ancestor {
    Ancestor {
        id,
        name: name.to_owned(),
        kind: kind.to_owned(),
    }
}

/// Account `n` of `total`, shaped like what each provider's API returns.
fn account(n: u64, total: u64) -> AccountRecord {
    let (provider, i) = provider_of(n, total);
    let team = TEAMS[(i % 10) as usize];
    let env = ENVS[(i / 10 % 3) as usize];
    let name = format!("{team}-{env}-{i:06}");
    let joined = Utc
        .with_ymd_and_hms(2020, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default()
        + Duration::hours(i as i64);
    let mut tags = BTreeMap::new();
    tags.insert("owner".to_owned(), format!("team-{team}"));
    tags.insert("env".to_owned(), env.to_owned());
    tags.insert("cost-center".to_owned(), format!("cc-{}", i % 97));
    tags.insert("system".to_owned(), format!("{team}-platform"));
    let status = if i % 100 == 99 {
        AccountStatus::Suspended
    } else {
        AccountStatus::Active
    };
    let (native_id, org_path, ancestors, raw) = match provider {
        Provider::Aws => {
            let id = format!("{:012}", 100_000_000_000 + i);
            let ou = format!("ou-root-{team}{env}");
            let ancestors = vec![
                ancestor("o-bench0001".into(), "o-bench0001", "organization"),
                ancestor("r-root".into(), "Root", "root"),
                ancestor(format!("ou-root-{team}"), team, "organizational_unit"),
                ancestor(ou, env, "organizational_unit"),
            ];
            let raw = json!({
                "Id": id,
                "Arn": format!("arn:aws:organizations::100000000000:account/o-bench0001/{id}"),
                "Email": format!("aws+{name}@example.com"),
                "Name": name,
                "Status": if status == AccountStatus::Active { "ACTIVE" } else { "SUSPENDED" },
                "State": if status == AccountStatus::Active { "ACTIVE" } else { "SUSPENDED" },
                "JoinedMethod": if i % 4 == 0 { "INVITED" } else { "CREATED" },
                "JoinedTimestamp": joined.to_rfc3339(),
                "ParentId": format!("ou-root-{team}{env}"),
                "Tags": tags.iter().map(|(k, v)| json!({ "Key": k, "Value": v })).collect::<Vec<_>>(),
                "AlternateContacts": {
                    "Billing": { "Name": format!("{team} finance"), "EmailAddress": format!("{team}-billing@example.com"), "PhoneNumber": "+1-555-0100", "Title": "Finance lead" },
                    "Operations": { "Name": format!("{team} on-call"), "EmailAddress": format!("{team}-oncall@example.com"), "PhoneNumber": "+1-555-0101", "Title": "On-call" },
                    "Security": { "Name": "Security team", "EmailAddress": "security@example.com", "PhoneNumber": "+1-555-0102", "Title": "CISO office" },
                },
                "EnabledRegions": ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2"],
            });
            (
                id,
                format!("o-bench0001/r-root/{team}/{env}"),
                ancestors,
                raw,
            )
        }
        Provider::Gcp => {
            let id = format!("proj-{i:06}");
            let number = 400_000_000_000 + i;
            let ancestors = vec![
                ancestor(
                    "organizations/1000001".into(),
                    "example.com",
                    "organization",
                ),
                ancestor(format!("folders/{}", 2000 + i % 10), team, "folder"),
                ancestor(format!("folders/{}", 3000 + i % 30), env, "folder"),
            ];
            let raw = json!({
                "name": format!("projects/{number}"),
                "parent": format!("folders/{}", 3000 + i % 30),
                "projectId": id,
                "state": "ACTIVE",
                "displayName": name,
                "createTime": joined.to_rfc3339(),
                "updateTime": joined.to_rfc3339(),
                "etag": format!("W/\"{:032x}\"", i * 7919),
                "labels": tags,
                "tags": { "environment": env, "data-classification": "internal" },
                "billing": { "billingAccountName": "billingAccounts/000000-AAAAAA-BBBBBB", "billingEnabled": true },
                "services": ["compute.googleapis.com", "storage.googleapis.com", "monitoring.googleapis.com", "logging.googleapis.com"],
                "iamPolicyEtag": format!("BwX{:08}", i),
            });
            (id, format!("example.com/{team}/{env}"), ancestors, raw)
        }
        Provider::Azure => {
            let id = format!("0b1f6471-1bf0-4dda-aec3-{i:012}");
            let tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
            let ancestors = vec![
                ancestor(tenant.into(), "Tenant Root Group", "tenant"),
                ancestor(format!("mg-{team}"), team, "management_group"),
                ancestor(format!("mg-{team}-{env}"), env, "management_group"),
            ];
            let raw = json!({
                "id": format!("/subscriptions/{id}"),
                "authorizationSource": "RoleBased",
                "managedByTenants": [{ "tenantId": "2f4a9838-26b7-47ee-be60-ccc1fdec5953" }],
                "subscriptionId": id,
                "tenantId": tenant,
                "displayName": name,
                "state": if status == AccountStatus::Active { "Enabled" } else { "Warned" },
                "subscriptionPolicies": {
                    "locationPlacementId": "Public_2014-09-01",
                    "quotaId": "EnterpriseAgreement_2014-09-01",
                    "spendingLimit": "Off",
                },
                "tags": tags,
                "managementGroupAncestorsChain": [
                    { "name": format!("mg-{team}-{env}"), "displayName": env },
                    { "name": format!("mg-{team}"), "displayName": team },
                    { "name": tenant, "displayName": "Tenant Root Group" },
                ],
            });
            (
                id,
                format!("Tenant Root Group/{team}/{env}"),
                ancestors,
                raw,
            )
        }
    };
    let parent = ancestors.last().map(|a| a.id.clone());
    AccountRecord {
        provider,
        native_id,
        name,
        org_path,
        ancestors,
        parent,
        status,
        raw_status: Some(
            if status == AccountStatus::Active {
                "ACTIVE"
            } else {
                "SUSPENDED"
            }
            .into(),
        ),
        region_residency: (provider == Provider::Azure).then(|| "westeurope".into()),
        tags: Some(tags),
        raw,
        scope: scope_of(provider).into(),
        source: "bench/1".into(),
        provenance: json!({ "api": "bench", "page": n / 1000 }),
    }
}

fn scope_of(provider: Provider) -> &'static str {
    match provider {
        Provider::Aws => "o-bench0001",
        Provider::Gcp => "organizations/1000001",
        Provider::Azure => "72f988bf-86f1-41af-91ab-2d7cd011db47",
    }
}

fn endpoint(n: u64) -> EndpointRecord {
    let grafana = n.is_multiple_of(10);
    let (kind, id, url) = if grafana {
        (
            EndpointKind::Grafana,
            format!("grafana-{n:05}"),
            format!("https://grafana-{n:05}.monitoring.example.com"),
        )
    } else {
        (
            EndpointKind::Prometheus,
            format!("prometheus-{n:05}"),
            format!("http://prometheus-{n:05}.monitoring.svc:9090"),
        )
    };
    let raw = if grafana {
        json!({ "health": { "database": "ok", "version": "11.3.0" },
                "datasources": { "total": 3, "prometheus": 2,
                    "prometheus_endpoints": [format!("prometheus-{:05}", n + 1), format!("prometheus-{:05}", n + 2)] } })
    } else {
        json!({ "buildinfo": { "version": "2.53.1", "goVersion": "go1.22.5" },
                "runtimeinfo": { "storageRetention": "15d", "timeSeriesCount": 120_000 + n } })
    };
    EndpointRecord {
        id,
        kind,
        url,
        auth_mode: entity::enums::AuthMode::None,
        status: if n.is_multiple_of(20) {
            EndpointStatus::Down
        } else {
            EndpointStatus::Up
        },
        version: Some(if grafana { "11.3.0" } else { "2.53.1" }.into()),
        raw,
        origin: entity::enums::Origin::Collector,
        labels: [("team".to_owned(), TEAMS[(n % 10) as usize].to_owned())]
            .into_iter()
            .collect(),
        notes: None,
        secret_ref: None,
        scope: "bench".into(),
        last_checked_at: Some(Utc::now()),
        last_error: None,
        provenance: json!({ "probe": kind.as_str() }),
    }
}

/// Writes every account once as one run per provider, page by page; returns the counts and
/// the seconds the writes took (run bookkeeping included; building the records, a
/// collector's own work, is not).
async fn write_accounts(
    db: &sea_orm::DatabaseConnection,
    args: &Args,
) -> anyhow::Result<(WriteCounts, f64)> {
    let mut counts = WriteCounts::default();
    let mut spent = Elapsed::ZERO;
    for provider in [Provider::Aws, Provider::Gcp, Provider::Azure] {
        let scope = scope_of(provider);
        let started = Instant::now();
        let run = start_run(db, provider.as_str(), "bench", scope, Utc::now()).await?;
        spent += started.elapsed();
        let mut run_counts = WriteCounts::default();
        let mine: Vec<u64> = (0..args.accounts)
            .filter(|n| provider_of(*n, args.accounts).0 == provider)
            .collect();
        let mut pages = 0;
        for chunk in mine.chunks(args.page) {
            let records = chunk.iter().map(|n| account(*n, args.accounts)).collect();
            let started = Instant::now();
            run_counts
                .add(upsert_accounts(db, &WriteContext::run(run.id, Utc::now()), records).await?);
            spent += started.elapsed();
            pages += 1;
        }
        let started = Instant::now();
        if !args.keep_unseen {
            run_counts.removed +=
                remove_unseen(db, run.id, Utc::now(), AssetType::CloudAccount, scope).await?;
        }
        finish_run(
            db,
            run.id,
            RunOutcome {
                status: RunStatus::Succeeded,
                counts: run_counts,
                pages,
                request_ids: Vec::new(),
                error: None,
            },
            Utc::now(),
        )
        .await?;
        spent += started.elapsed();
        counts.add(run_counts);
    }
    Ok((counts, spent.as_secs_f64()))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut options = DbOptions::new(args.database_url.clone());
    options.schema.clone_from(&args.database_schema);
    let db = connect(&options).await?;
    migration::up(&db).await?;

    let sample = serde_json::to_vec(&account(0, args.accounts).raw)?.len();
    // The results are this program's output, for api/bench/run to read.
    let mut out = std::io::stdout().lock();
    writeln!(out, "raw record: {sample} bytes (AWS account 0)")?;
    for pass in ["new", "unchanged"] {
        let (counts, seconds) = write_accounts(&db, &args).await?;
        writeln!(
            out,
            "write\t{pass}\t{}\t{seconds:.2}\t{:.0}\tcreated={} updated={} unchanged={}",
            args.accounts,
            args.accounts as f64 / seconds,
            counts.created,
            counts.updated,
            counts.unchanged
        )?;
    }
    let run = start_run(&db, "prometheus", "bench", "bench", Utc::now()).await?;
    let mut counts = WriteCounts::default();
    let all: Vec<u64> = (0..args.endpoints).collect();
    for chunk in all.chunks(args.page) {
        counts.add(
            upsert_endpoints(
                &db,
                &WriteContext::run(run.id, Utc::now()),
                chunk.iter().map(|n| endpoint(*n)).collect(),
            )
            .await?,
        );
    }
    let pages = all.chunks(args.page).len() as u64;
    finish_run(
        &db,
        run.id,
        RunOutcome {
            status: RunStatus::Succeeded,
            counts,
            pages,
            request_ids: Vec::new(),
            error: None,
        },
        Utc::now(),
    )
    .await?;
    writeln!(out, "endpoints\t{}", args.endpoints)?;
    Ok(())
}
