//! A real AWS Organizations emulator: `moto_server` from PyPI (`moto[server]`), one process
//! per test on a free loopback port, so tests never share an organization. Runs when
//! `INVENTORY_TEST_MOTO` names the `moto_server` executable (`.ci/run` installs it); a set but
//! broken one fails the test.

use aws_sdk_organizations::Client;
use aws_sdk_organizations::config::{BehaviorVersion, Credentials, Region};
use collectors::aws::AwsOptions;
use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Moto {
    child: Child,
    pub url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

pub fn credentials() -> Credentials {
    Credentials::new("testing", "testing", None, None, "tests")
}

impl Moto {
    pub async fn start() -> Option<Self> {
        let Ok(executable) = std::env::var("INVENTORY_TEST_MOTO") else {
            let _ = writeln!(
                std::io::stderr(),
                "note: INVENTORY_TEST_MOTO is not set; the AWS Organizations tests were skipped"
            );
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(executable)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("INVENTORY_TEST_MOTO is set but moto_server does not start");
        let moto = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Some(moto);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("moto_server did not listen on port {port} within 10 s");
    }

    /// A client for seeding the organization.
    pub fn client(&self) -> Client {
        let config = aws_sdk_organizations::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(&self.url)
            .credentials_provider(credentials())
            .build();
        Client::from_conf(config)
    }

    /// What the collector is configured with to read this organization.
    pub fn options(&self) -> AwsOptions {
        options(&self.url)
    }
}

pub fn options(url: &str) -> AwsOptions {
    AwsOptions {
        role_arn: None,
        external_id: None,
        max_attempts: 3,
        concurrency: 4,
        request_timeout: Duration::from_secs(5),
        endpoint_url: Some(url.to_owned()),
        credentials: Some(credentials()),
    }
}
