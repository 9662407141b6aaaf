#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::sync::mpsc;

use super::server::{MAX_CONNECTIONS, REQUEST_TIMEOUT};
use super::*;

/// A main loop that answers every request `ok`, echoing its name as the error text so the
/// test can see what arrived.
fn answer_all() -> mpsc::Sender<Pending> {
    let (tx, mut rx) = mpsc::channel::<Pending>(4);
    tokio::spawn(async move {
        while let Some(p) = rx.recv().await {
            let _ = p.reply.send(Reply {
                ok: true,
                error: Some(p.request.name().to_string()),
                ports: Vec::new(),
                bgpd: None,
                cluster: None,
                page: None,
                fib: Vec::new(),
            });
        }
    });
    tx
}

async fn send_line(s: &mut BufReader<UnixStream>, line: &[u8]) -> Reply {
    s.get_mut().write_all(line).await.unwrap();
    read_reply(s).await
}

async fn read_reply(s: &mut BufReader<UnixStream>) -> Reply {
    let mut answer = String::new();
    s.read_line(&mut answer).await.unwrap();
    serde_json::from_str(&answer).unwrap_or_else(|e| panic!("{e}: {answer:?}"))
}

async fn connect(path: &std::path::Path) -> BufReader<UnixStream> {
    BufReader::new(UnixStream::connect(path).await.unwrap())
}

#[tokio::test]
async fn round_trip_in_use_and_bad_requests_get_json_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sock");
    let tx = answer_all();
    let server = ControlServer::bind(&path, tx.clone()).await.unwrap();
    let r = ask(&path, Request::Status).await.unwrap();
    assert_eq!(r.error.as_deref(), Some("status"));
    // A second server on the same live socket is refused.
    assert!(matches!(
        ControlServer::bind(&path, tx.clone()).await,
        Err(ControlError::InUse(_))
    ));
    // Garbage, non-UTF-8 and unknown kinds get error lines; the connection stays usable.
    let mut s = connect(&path).await;
    for bad in [
        &b"{nonsense\n"[..],
        b"\xff\xfe\n",
        b"{\"request\":\"halt\"}\n",
    ] {
        let reply = send_line(&mut s, bad).await;
        assert!(!reply.ok);
        assert!(reply.error.unwrap().starts_with("bad request"));
    }
    let reply = send_line(&mut s, b"{\"request\":\"status\"}\n").await;
    assert!(reply.ok);
    drop(server);
    assert!(!path.exists(), "socket file removed on drop");
}

#[tokio::test]
async fn only_a_stale_socket_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sock");
    let tx = answer_all();
    // A socket nobody listens on (a crashed controller's) is replaced.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    let server = ControlServer::bind(&path, tx.clone()).await.unwrap();
    assert!(ask(&path, Request::Status).await.is_ok());
    drop(server);
    // A regular file, a directory and a symlink are refused and left alone.
    std::fs::write(&path, b"precious").unwrap();
    assert!(matches!(
        ControlServer::bind(&path, tx.clone()).await,
        Err(ControlError::NotASocket(_))
    ));
    assert_eq!(std::fs::read(&path).unwrap(), b"precious");
    std::fs::remove_file(&path).unwrap();
    std::fs::create_dir(&path).unwrap();
    assert!(matches!(
        ControlServer::bind(&path, tx.clone()).await,
        Err(ControlError::NotASocket(_))
    ));
    std::fs::remove_dir(&path).unwrap();
    std::os::unix::fs::symlink(dir.path().join("elsewhere"), &path).unwrap();
    assert!(matches!(
        ControlServer::bind(&path, tx).await,
        Err(ControlError::NotASocket(_))
    ));
    assert!(std::fs::symlink_metadata(&path).unwrap().is_symlink());
    // No temporary socket is left behind by the refusals.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
}

#[tokio::test]
async fn mode_is_0600_or_0660_with_the_group() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sock");
    let server = ControlServer::bind(&path, answer_all()).await.unwrap();
    let md = std::fs::metadata(&path).unwrap();
    assert_eq!(md.permissions().mode() & 0o777, 0o600);
    drop(server);
    let Some(()) = testkit::require_root("control socket group ownership") else {
        return;
    };
    let access = Access {
        group: Some(65_534),
    };
    let _server = ControlServer::bind_with(&path, access, answer_all())
        .await
        .unwrap();
    let md = std::fs::metadata(&path).unwrap();
    assert_eq!(md.permissions().mode() & 0o777, 0o660);
    assert_eq!(md.gid(), 65_534);
}

#[tokio::test]
async fn a_line_over_the_limit_gets_an_error_and_the_next_one_an_answer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sock");
    let _server = ControlServer::bind(&path, answer_all()).await.unwrap();
    let mut s = connect(&path).await;
    let mut long = vec![b' '; MAX_REQUEST_LINE * 4];
    long.push(b'\n');
    let reply = send_line(&mut s, &long).await;
    assert_eq!(
        reply.error.as_deref(),
        Some(format!("bad request: longer than {MAX_REQUEST_LINE} bytes").as_str())
    );
    let reply = send_line(&mut s, b"{\"request\":\"status\"}\n").await;
    assert!(reply.ok, "{reply:?}");
}

#[tokio::test]
async fn connections_beyond_the_limit_are_told_and_closed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sock");
    let _server = ControlServer::bind(&path, answer_all()).await.unwrap();
    let mut held = Vec::new();
    for _ in 0..MAX_CONNECTIONS {
        let mut s = connect(&path).await;
        // An answer proves the connection holds one of the slots.
        assert!(send_line(&mut s, b"{\"request\":\"status\"}\n").await.ok);
        held.push(s);
    }
    let mut extra = connect(&path).await;
    let reply = read_reply(&mut extra).await;
    assert!(reply
        .error
        .unwrap()
        .starts_with("too many control connections"));
    let mut rest = Vec::new();
    extra.read_to_end(&mut rest).await.unwrap();
    assert!(rest.is_empty(), "closed after the error");
    // A freed slot serves again (the server notices the close asynchronously).
    drop(held.pop());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let mut s = connect(&path).await;
        s.get_mut()
            .write_all(b"{\"request\":\"status\"}\n")
            .await
            .unwrap();
        if read_reply(&mut s).await.ok {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "slot never freed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_silent_client_is_closed_after_the_request_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sock");
    let _server = ControlServer::bind(&path, answer_all()).await.unwrap();
    let mut s = connect(&path).await;
    let started = tokio::time::Instant::now();
    // Half a line, then nothing.
    s.get_mut().write_all(b"{\"request\":").await.unwrap();
    let reply = read_reply(&mut s).await;
    assert!(started.elapsed() >= REQUEST_TIMEOUT);
    assert!(reply
        .error
        .unwrap()
        .starts_with("no complete request within"));
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).await.unwrap();
    assert!(rest.is_empty());
}

#[test]
fn root_asks_anything_the_group_only_reads_others_nothing() {
    let root = Peer {
        uid: 0,
        gid: 0,
        groups: vec![],
    };
    let member = Peer {
        uid: 1000,
        gid: 1000,
        groups: vec![4, 50],
    };
    let stranger = Peer {
        uid: 1001,
        gid: 1001,
        groups: vec![],
    };
    let open = Access { group: Some(50) };
    let closed = Access::default();
    let routes = Request::Routes(routing::RouteQuery::default());
    let watch = Request::Watch { port: None };
    for r in [
        Request::Status,
        Request::Reload,
        routes.clone(),
        watch.clone(),
    ] {
        assert_eq!(authorize(&closed, &root, &r), Ok(()));
        assert_eq!(
            authorize(&closed, &member, &r),
            Err(Denied::NotAllowed { uid: 1000 })
        );
        assert_eq!(
            authorize(&open, &stranger, &r),
            Err(Denied::NotAllowed { uid: 1001 })
        );
    }
    assert_eq!(authorize(&open, &member, &Request::Status), Ok(()));
    assert_eq!(authorize(&open, &member, &routes), Ok(()));
    assert_eq!(authorize(&open, &member, &watch), Ok(()));
    assert_eq!(
        authorize(&open, &member, &Request::Reload),
        Err(Denied::NeedsRoot("reload"))
    );
    // The primary group counts as membership too.
    let primary = Peer {
        uid: 1002,
        gid: 50,
        groups: vec![],
    };
    assert_eq!(authorize(&open, &primary, &Request::Status), Ok(()));
}

/// Connects to `path` from a thread running as uid/gid 65534 (set with the raw syscalls, which
/// change only the calling thread, so the kernel records those credentials for the connection)
/// and sends `line`; returns the connect error or the reply line.
fn connect_as_nobody(path: &std::path::Path, gid: u32, line: &'static [u8]) -> Result<String, i32> {
    let path = path.to_path_buf();
    std::thread::spawn(move || {
        use std::io::{BufRead, Write};
        // SAFETY: raw setresgid/setresuid on this thread only; they take plain integers.
        unsafe {
            assert_eq!(
                libc::syscall(libc::SYS_setgroups, 0, std::ptr::null::<libc::gid_t>()),
                0
            );
            assert_eq!(libc::syscall(libc::SYS_setresgid, gid, gid, gid), 0);
            assert_eq!(
                libc::syscall(libc::SYS_setresuid, 65_534, 65_534, 65_534),
                0
            );
        }
        let mut s = match std::os::unix::net::UnixStream::connect(&path) {
            Ok(s) => s,
            Err(e) => return Err(e.raw_os_error().unwrap_or(0)),
        };
        s.write_all(line).unwrap();
        let mut answer = String::new();
        std::io::BufReader::new(s).read_line(&mut answer).unwrap();
        Ok(answer)
    })
    .join()
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_credentials_decide_what_a_client_may_ask() {
    let Some(()) = testkit::require_root("peer_credentials_decide_what_a_client_may_ask") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = dir.path().join("c.sock");
    let group = 65_533;
    // Root only: somebody else cannot even connect.
    let server = ControlServer::bind(&path, answer_all()).await.unwrap();
    let p = path.clone();
    let r = tokio::task::spawn_blocking(move || {
        connect_as_nobody(&p, group, b"{\"request\":\"status\"}\n")
    })
    .await
    .unwrap();
    assert_eq!(r, Err(libc::EACCES));
    drop(server);
    // With the group: members read, only root reloads.
    let _server = ControlServer::bind_with(&path, Access { group: Some(group) }, answer_all())
        .await
        .unwrap();
    let p = path.clone();
    let status = tokio::task::spawn_blocking(move || {
        connect_as_nobody(&p, group, b"{\"request\":\"status\"}\n")
    })
    .await
    .unwrap()
    .unwrap();
    let status: Reply = serde_json::from_str(&status).unwrap();
    assert!(status.ok, "{status:?}");
    let p = path.clone();
    let reload = tokio::task::spawn_blocking(move || {
        connect_as_nobody(&p, group, b"{\"request\":\"reload\"}\n")
    })
    .await
    .unwrap()
    .unwrap();
    let reload: Reply = serde_json::from_str(&reload).unwrap();
    assert_eq!(
        reload.error.as_deref(),
        Some("permission denied: `reload` changes the controller's state and needs root")
    );
    // Root still may.
    let r = ask(&path, Request::Reload).await.unwrap();
    assert_eq!(r.error.as_deref(), Some("reload"));
}

/// `routes` pages and the route stream's first pages both come from the main loop's table.
#[tokio::test]
async fn routes_pages_and_the_watch_snapshot_come_from_the_table() {
    use routing::{RouteChange, RoutePath, RouteSink, TableSink};
    let table = std::sync::Arc::new(TableSink::new());
    let changes: Vec<RouteChange> = (0..12_345u32)
        .map(|i| RouteChange::Replace {
            prefix: ipnetwork::IpNetwork::new(
                std::net::Ipv4Addr::from(0x0a00_0000 + (i << 8)).into(),
                24,
            )
            .unwrap(),
            paths: vec![RoutePath {
                gateway: Some("192.0.2.2".parse().unwrap()),
                ifindex: Some(2),
                distance: 20,
                metric: 0,
                weight: 1,
            }],
        })
        .collect();
    table.apply("p1", &changes);
    let (tx, mut rx) = mpsc::channel::<Pending>(4);
    let t = table.clone();
    tokio::spawn(async move {
        while let Some(p) = rx.recv().await {
            let reply = match p.request {
                Request::Routes(q) => Reply::page(t.page(&q)),
                other => Reply::error(other.name()),
            };
            let _ = p.reply.send(reply);
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sock");
    let _server = ControlServer::bind(&path, tx).await.unwrap();
    let query = routing::RouteQuery {
        limit: 100,
        ..Default::default()
    };
    let r = ask(&path, Request::Routes(query)).await.unwrap();
    let page = r.page.unwrap();
    assert_eq!(page.routes.len(), 100);
    assert!(page.next.is_some());
    assert!(r.ports.is_empty());
    // The stream: every route (two pages of the table), then `synced`.
    let mut s = connect(&path).await;
    s.get_mut()
        .write_all(b"{\"request\":\"watch\",\"port\":\"p1\"}\n")
        .await
        .unwrap();
    let mut replaced = 0;
    loop {
        let mut l = String::new();
        s.read_line(&mut l).await.unwrap();
        let v: serde_json::Value = serde_json::from_str(&l).unwrap();
        if v["op"] == "synced" {
            break;
        }
        assert_eq!(v["op"], "replace", "{v}");
        replaced += 1;
    }
    assert_eq!(replaced, 12_345);
}

#[test]
fn announce_and_withdraw_parse_and_need_root() {
    let line = br#"{"request":"announce","port":"p1","announcement":{"prefix":"198.51.100.0/24","communities":["65001:7","no-export"],"med":5}}"#;
    let r = parse_request(line).unwrap();
    let Request::Announce { port, announcement } = &r else {
        panic!("{r:?}")
    };
    assert_eq!(port, "p1");
    assert_eq!(announcement.med, Some(5));
    assert_eq!(announcement.communities.len(), 2);
    assert_eq!(r.name(), "announce");
    let w =
        parse_request(br#"{"request":"withdraw","port":"p1","prefix":"198.51.100.0/24"}"#).unwrap();
    assert_eq!(w.name(), "withdraw");
    // A malformed community or prefix is a bad request, before anything reaches the handler.
    for bad in [
        &br#"{"request":"announce","port":"p1","announcement":{"prefix":"198.51.100.0/24","communities":["65536:1"]}}"#[..],
        br#"{"request":"announce","port":"p1","announcement":{"prefix":"198.51.100.0/33"}}"#,
        br#"{"request":"withdraw","port":"p1","prefix":"nonsense"}"#,
        br#"{"request":"announce","port":"p1"}"#,
    ] {
        assert!(parse_request(bad).is_err(), "{}", String::from_utf8_lossy(bad));
    }
    let member = Peer {
        uid: 1000,
        gid: 1000,
        groups: vec![50],
    };
    let open = Access { group: Some(50) };
    assert_eq!(
        authorize(&open, &member, &r),
        Err(Denied::NeedsRoot("announce"))
    );
    assert_eq!(
        authorize(&open, &member, &w),
        Err(Denied::NeedsRoot("withdraw"))
    );
    let root = Peer {
        uid: 0,
        gid: 0,
        groups: vec![],
    };
    assert_eq!(authorize(&open, &root, &r), Ok(()));
}

#[test]
fn a_status_reply_carries_the_fib_tables_and_reads_back() {
    let fib = vec![routing::kernel::TableStats {
        key: routing::kernel::TableKey {
            namespace: Some("edge".into()),
            table: 200,
            metric: 20,
        },
        installed: 3,
        stale: 0,
        refused: 0,
        reconciling: false,
        link_rereads: 0,
        restored: 0,
        last_error: None,
    }];
    let r = Reply::status(Vec::new()).with_fib(fib.clone());
    let line = serde_json::to_string(&r).unwrap();
    assert!(
        line.contains(
            r#""fib":[{"key":{"namespace":"edge","table":200,"metric":20},"installed":3"#
        ),
        "{line}"
    );
    assert_eq!(serde_json::from_str::<Reply>(&line).unwrap().fib, fib);
    // Without a kernel sink there is no `fib` key at all.
    let line = serde_json::to_string(&Reply::status(Vec::new())).unwrap();
    assert!(!line.contains("fib"), "{line}");
    assert!(serde_json::from_str::<Reply>(&line).unwrap().fib.is_empty());
}
