//! Puts the GraphiQL assets into `OUT_DIR/graphiql` so the binary embeds them and the
//! explorer works with no internet access.
//!
//! The assets come from the npm registry, pinned with integrity hashes by
//! `graphiql/package-lock.json`: `npm ci` runs once per clean build (about five seconds).
//! Nothing third-party is committed. For offline builds, point `INVENTORY_GRAPHIQL_MODULES` at
//! a `node_modules` directory installed from the same lock file.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// (file inside node_modules, name it is served under)
const ASSETS: &[(&str, &str)] = &[
    (
        "react/umd/react.production.min.js",
        "react.production.min.js",
    ),
    (
        "react-dom/umd/react-dom.production.min.js",
        "react-dom.production.min.js",
    ),
    ("graphiql/graphiql.min.js", "graphiql.min.js"),
    ("graphiql/graphiql.min.css", "graphiql.min.css"),
];

fn main() {
    println!("cargo:rerun-if-changed=graphiql/package.json");
    println!("cargo:rerun-if-changed=graphiql/package-lock.json");
    println!("cargo:rerun-if-env-changed=INVENTORY_GRAPHIQL_MODULES");

    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let modules = match env::var_os("INVENTORY_GRAPHIQL_MODULES") {
        Some(dir) => PathBuf::from(dir),
        None => install(&out),
    };
    let target = out.join("graphiql");
    fs::create_dir_all(&target).expect("create OUT_DIR/graphiql");
    for (from, to) in ASSETS {
        let source = modules.join(from);
        fs::copy(&source, target.join(to)).unwrap_or_else(|err| {
            panic!(
                "GraphiQL asset {} is missing ({err}); check INVENTORY_GRAPHIQL_MODULES or npm",
                source.display()
            )
        });
    }
}

/// Runs `npm ci` in a copy of `graphiql/` under OUT_DIR, unless an earlier build already did
/// for the same lock file.
fn install(out: &Path) -> PathBuf {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let work = out.join("npm");
    fs::create_dir_all(&work).expect("create OUT_DIR/npm");
    let lock = fs::read(manifest.join("graphiql/package-lock.json")).expect("read the lock file");
    let stamp = work.join("installed-lock.json");
    let modules = work.join("node_modules");
    if fs::read(&stamp).ok().as_deref() == Some(lock.as_slice()) && modules.is_dir() {
        return modules;
    }
    for file in ["package.json", "package-lock.json"] {
        fs::copy(manifest.join("graphiql").join(file), work.join(file)).expect("copy npm files");
    }
    let status = Command::new("npm")
        .args([
            "ci",
            "--ignore-scripts",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
        ])
        .current_dir(&work)
        .status()
        .unwrap_or_else(|err| {
            panic!(
                "building the API needs npm to fetch the pinned GraphiQL assets ({err}); \
                 install Node.js/npm or set INVENTORY_GRAPHIQL_MODULES"
            )
        });
    assert!(
        status.success(),
        "npm ci for the GraphiQL assets failed: {status}"
    );
    fs::write(&stamp, lock).expect("write the install stamp");
    modules
}
