//! GraphiQL in a real headless Chromium: the page, its bundles and our start script load
//! under the page's Content-Security-Policy with no network beyond the API, and GraphiQL's
//! introspection query passes the query limits.
//!
//! Runs when `INVENTORY_TEST_CHROMIUM` names a Chromium binary (`.ci/run` installs Debian's
//! `chromium` and sets it); a set but unusable binary fails the test.

use std::io::Write;
use std::process::Command;

#[tokio::test]
async fn graphiql_renders_offline_in_chromium() {
    let Ok(chromium) = std::env::var("INVENTORY_TEST_CHROMIUM") else {
        let _ = writeln!(
            std::io::stderr(),
            "note: INVENTORY_TEST_CHROMIUM is not set; the GraphiQL browser test was skipped"
        );
        return;
    };
    let args = crate::support::serve_args("sqlite::memory:", None);
    let app = api::app::Application::build(&args).await.expect("start");
    let addr = app.local_addr().expect("bound");
    let server = tokio::spawn(app.run_until_stopped());

    let profile = std::env::temp_dir().join(format!("inventory-chromium-{}", std::process::id()));
    let url = format!("http://{addr}/graphql");
    let output = tokio::task::spawn_blocking(move || {
        Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--virtual-time-budget=10000",
                "--dump-dom",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(url)
            .output()
    })
    .await
    .expect("join")
    .expect("INVENTORY_TEST_CHROMIUM is set but Chromium does not start");
    server.abort();
    let dom = String::from_utf8_lossy(&output.stdout);
    assert!(
        dom.contains("graphiql-container") && dom.contains("graphiql-execute-button"),
        "GraphiQL did not render; Chromium said: {}\nDOM: {dom}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The editor splits the start query into one element per token.
    assert!(
        dom.contains(">inventorySummary<"),
        "the start query is missing"
    );
    assert!(
        !dom.contains("nested too deep") && !dom.contains("too complex"),
        "introspection was refused: {dom}"
    );
}
