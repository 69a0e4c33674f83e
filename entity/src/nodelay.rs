//! `TCP_NODELAY` on PostgreSQL connections, which sqlx 0.9.0 stopped setting (sqlx issue
//! #4335; fixed by pull request #4336, not in a release yet). Its TLS socket sends each TLS
//! record with its own system call, so the tail of any message longer than one record waits
//! for the server's delayed ACK, about 40 ms. For the write path that was most of its time:
//! `strace` showed 42–80 ms waits after every large statement and half of the machine idle;
//! 30,000 new accounts wrote at 3.6k rows/s over TLS and 7.7k without it. Remove this module
//! once a sqlx release sets the option again.
//!
//! The socket is sqlx's, so it is reached without unsafe code: the server names the
//! connection's client port, and `pidfd_getfd` duplicates this process's sockets until the
//! one with that local port and the server's port as its peer is found; the option set on
//! the duplicate is the socket's own. Best effort: where the kernel or a seccomp profile
//! refuses `pidfd_getfd`, the connection works as before, only slower for large statements,
//! and the process says so once.

use sea_orm::sqlx::PgConnection;

/// Sets `TCP_NODELAY` on `conn`'s socket if it is a TCP connection to `server_port`.
pub(crate) async fn set(conn: &mut PgConnection, server_port: u16) {
    // NULL over a Unix socket, which has no Nagle algorithm to turn off.
    let client_port: Result<Option<i32>, _> =
        sea_orm::sqlx::query_scalar("SELECT inet_client_port()")
            .fetch_one(conn)
            .await;
    let client_port = match client_port.map(|port| port.map(u16::try_from)) {
        Ok(Some(Ok(port))) => port,
        Ok(None) | Ok(Some(Err(_))) => return,
        Err(error) => {
            tracing::debug!(%error, "TCP_NODELAY not set: the client port is unknown");
            return;
        }
    };
    let reason = match socket::set_nodelay(client_port, server_port) {
        Ok(true) => {
            tracing::trace!(client_port, "TCP_NODELAY set");
            return;
        }
        Ok(false) => "socket not found".to_owned(),
        Err(error) => error.to_string(),
    };
    // Once per process: every connection of a pool would say the same.
    static WARNED: std::sync::Once = std::sync::Once::new();
    WARNED.call_once(|| {
        tracing::warn!(
            %reason,
            "TCP_NODELAY could not be set on a PostgreSQL connection: large writes over TLS \
             wait ~40 ms per statement"
        );
    });
}

#[cfg(target_os = "linux")]
pub(crate) mod socket {
    use rustix::net::{getpeername, getsockname, sockopt};
    use rustix::process::{PidfdFlags, PidfdGetfdFlags, getpid, pidfd_getfd, pidfd_open};
    use std::net::SocketAddr;

    /// Finds this process's TCP socket from local port `client` to remote port `server` and
    /// sets `TCP_NODELAY` on it; `false` if there is none.
    pub fn set_nodelay(client: u16, server: u16) -> std::io::Result<bool> {
        find(client, server, |socket| {
            sockopt::set_tcp_nodelay(socket, true)
        })
        .map(|found| found.is_some())
    }

    /// Whether that socket has `TCP_NODELAY` set; `None` if there is no such socket.
    #[cfg(test)]
    pub fn nodelay(client: u16, server: u16) -> std::io::Result<Option<bool>> {
        find(client, server, |socket| sockopt::tcp_nodelay(socket))
    }

    fn find<T>(
        client: u16,
        server: u16,
        apply: impl Fn(&rustix::fd::OwnedFd) -> rustix::io::Result<T>,
    ) -> std::io::Result<Option<T>> {
        let me = pidfd_open(getpid(), PidfdFlags::empty())?;
        for entry in std::fs::read_dir("/proc/self/fd")? {
            let entry = entry?;
            let is_socket = std::fs::read_link(entry.path())
                .is_ok_and(|target| target.to_string_lossy().starts_with("socket:"));
            let Some(fd) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
                continue;
            };
            if !is_socket {
                continue;
            }
            // Closed since it was listed: nothing to look at.
            let Ok(socket) = pidfd_getfd(&me, fd, PidfdGetfdFlags::empty()) else {
                continue;
            };
            let local = getsockname(&socket).ok();
            let peer = getpeername(&socket).ok().flatten();
            if port_of(local) == Some(client) && port_of(peer) == Some(server) {
                return Ok(Some(apply(&socket)?));
            }
        }
        Ok(None)
    }

    fn port_of(address: Option<rustix::net::SocketAddrAny>) -> Option<u16> {
        address
            .and_then(|a| SocketAddr::try_from(a).ok())
            .map(|a| a.port())
    }
}

#[cfg(not(target_os = "linux"))]
pub(crate) mod socket {
    pub fn set_nodelay(_client: u16, _server: u16) -> std::io::Result<bool> {
        Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "finding sqlx's socket is implemented for Linux only",
        ))
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use crate::testing::TestDb;
    use sea_orm::sqlx::postgres::{PgConnectOptions, PgConnection};
    use sea_orm::sqlx::{Connection, query_scalar};
    use sea_orm::{ConnectionTrait, Statement};
    use std::str::FromStr;

    fn server_port(url: &str) -> u16 {
        PgConnectOptions::from_str(url).expect("a URL").get_port()
    }

    #[tokio::test]
    async fn pooled_postgres_connections_do_not_delay_small_segments() {
        let Some(db) = TestDb::postgres().await else {
            return;
        };
        let server = server_port(&db.options.url);
        for _ in 0..3 {
            let row = db
                .conn
                .query_one_raw(Statement::from_string(
                    db.conn.get_database_backend(),
                    "SELECT inet_client_port()",
                ))
                .await
                .expect("query")
                .expect("a row");
            let Some(client) = row.try_get_by_index::<Option<i32>>(0).expect("a port") else {
                // A Unix-socket URL: no Nagle algorithm, nothing to check.
                db.finish().await;
                return;
            };
            let client = u16::try_from(client).expect("a port");
            assert_eq!(
                super::socket::nodelay(client, server).expect("sockets readable"),
                Some(true),
                "the pooled connection from port {client} delays small segments"
            );
        }

        // The control: a connection sqlx opens by itself. When this fails, a sqlx release
        // sets TCP_NODELAY again and `nodelay` can go.
        let mut raw = PgConnection::connect(&db.options.url)
            .await
            .expect("connect");
        let client: i32 = query_scalar("SELECT inet_client_port()")
            .fetch_one(&mut raw)
            .await
            .expect("port");
        let client = u16::try_from(client).expect("a port");
        assert_eq!(
            super::socket::nodelay(client, server).expect("sockets readable"),
            Some(false),
            "sqlx sets TCP_NODELAY itself now: remove entity/src/nodelay.rs"
        );
        raw.close().await.ok();
        db.finish().await;
    }
}
