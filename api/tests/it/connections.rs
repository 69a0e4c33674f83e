//! What a client connection may hold, against the real server over TCP: a connection that
//! sends nothing, a slowloris that trickles its headers, a kept-alive connection left idle,
//! a body sent a byte at a time, one connection too many, and an oversized chunked body.
//! Each is closed or refused by the server on its own bound.

use api::http::server::{ConnectionLimits, serve};
use entity::testing::TestDb;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The application with a request timeout of 2 s, served with `limits`.
async fn start(db: &TestDb, limits: ConnectionLimits) -> SocketAddr {
    let mut settings = crate::support::open_settings();
    settings.request_timeout = Duration::from_secs(2);
    settings.max_body_bytes = 4096;
    let router = api::http::router(db.conn.clone(), settings).expect("router");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(serve(listener, router, limits, std::future::pending()));
    addr
}

fn limits() -> ConnectionLimits {
    ConnectionLimits {
        header_read_timeout: Duration::from_secs(1),
        idle_timeout: Duration::from_secs(2),
        max_connections: 8,
    }
}

/// Everything the server sends until it closes the connection. Fails if it has not closed
/// it within `patience`: far longer than any bound under test, so only a connection the
/// server keeps open fails.
async fn until_closed(stream: &mut TcpStream, patience: Duration) -> String {
    let mut received = Vec::new();
    let read = tokio::time::timeout(patience, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server kept the connection open");
    String::from_utf8_lossy(&received).into_owned()
}

const PATIENCE: Duration = Duration::from_secs(15);

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed() {
    let db = TestDb::sqlite().await;
    let addr = start(&db, limits()).await;
    let mut silent = TcpStream::connect(addr).await.expect("connect");
    until_closed(&mut silent, PATIENCE).await;
    db.finish().await;
}

#[tokio::test]
async fn trickled_headers_are_cut_off() {
    let db = TestDb::sqlite().await;
    let addr = start(&db, limits()).await;
    let mut slow = TcpStream::connect(addr).await.expect("connect");
    slow.write_all(b"POST /graphql HTTP/1.1\r\nHost: inventory\r\n")
        .await
        .expect("write");
    // A header line every 300 ms (each read well inside the idle timeout) would take 9 s.
    let trickle = async {
        for i in 0..30 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if slow
                .write_all(format!("X-Slow-{i}: x\r\n").as_bytes())
                .await
                .is_err()
            {
                return true;
            }
        }
        false
    };
    let cut_off = tokio::time::timeout(PATIENCE, trickle)
        .await
        .expect("the trickle ends");
    let closed = cut_off
        || until_closed(&mut slow, Duration::from_secs(1))
            .await
            .is_empty();
    assert!(closed, "the server read headers for 9 s");
    db.finish().await;
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed() {
    let db = TestDb::sqlite().await;
    let addr = start(&db, limits()).await;
    let mut kept = TcpStream::connect(addr).await.expect("connect");
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: inventory\r\n\r\n")
        .await
        .expect("write");
    let answered = until_closed(&mut kept, PATIENCE).await;
    assert!(answered.starts_with("HTTP/1.1 200"), "{answered}");
    db.finish().await;
}

#[tokio::test]
async fn a_body_sent_a_byte_at_a_time_times_out() {
    let db = TestDb::sqlite().await;
    let addr = start(&db, limits()).await;
    let mut slow = TcpStream::connect(addr).await.expect("connect");
    slow.write_all(
        b"POST /graphql HTTP/1.1\r\nHost: inventory\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{",
    )
    .await
    .expect("write");
    let answer = tokio::time::timeout(PATIENCE, async {
        let mut buf = [0u8; 4096];
        loop {
            // A byte every 500 ms: each read well inside the idle timeout.
            tokio::select! {
                read = slow.read(&mut buf) => {
                    return String::from_utf8_lossy(&buf[..read.unwrap_or(0)]).into_owned();
                }
                () = tokio::time::sleep(Duration::from_millis(500)) => {
                    if slow.write_all(b" ").await.is_err() {
                        return String::new();
                    }
                }
            }
        }
    })
    .await
    .expect("the server answers before the body is complete");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    db.finish().await;
}

#[tokio::test]
async fn connections_past_the_limit_are_closed_on_arrival() {
    let db = TestDb::sqlite().await;
    let addr = start(
        &db,
        ConnectionLimits {
            header_read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(30),
            max_connections: 2,
        },
    )
    .await;
    let mut first = TcpStream::connect(addr).await.expect("connect");
    let _second = TcpStream::connect(addr).await.expect("connect");
    // Give the server time to accept both before the third arrives.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut third = TcpStream::connect(addr).await.expect("connect");
    until_closed(&mut third, PATIENCE).await;
    // The ones within the limit are served.
    first
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: inventory\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let answered = until_closed(&mut first, PATIENCE).await;
    assert!(answered.starts_with("HTTP/1.1 200"), "{answered}");
    db.finish().await;
}

#[tokio::test]
async fn an_oversized_chunked_body_is_413_in_graphql_shape() {
    let db = TestDb::sqlite().await;
    let addr = start(&db, limits()).await;
    let mut big = TcpStream::connect(addr).await.expect("connect");
    let chunk = format!("{{\"query\": \"{{ __typename }} #{}", "x".repeat(8000));
    big.write_all(
        format!(
            "POST /graphql HTTP/1.1\r\nHost: inventory\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{chunk}\r\n",
            chunk.len()
        )
        .as_bytes(),
    )
    .await
    .expect("write");
    let answer = until_closed(&mut big, PATIENCE).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("\"code\":\"BAD_USER_INPUT\""), "{answer}");
    assert!(!answer.contains("Io("), "a debug string: {answer}");
    db.finish().await;
}
