//! Named namespaces: create/open/list/delete, iproute2 compatibility, `run`, guards.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::MetadataExt;
use std::process::Command;

use netns::{NetNs, NetNsGuard, NetnsError};

fn thread_ns() -> (u64, u64) {
    let md = std::fs::metadata("/proc/thread-self/ns/net").unwrap();
    (md.dev(), md.ino())
}

fn ip(args: &[&str]) -> (bool, String) {
    let out = Command::new("ip").args(args).output().expect("run ip");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn create_open_list_delete() {
    let Some(()) = testkit::require_root("create_open_list_delete") else {
        return;
    };
    let name = testkit::unique_name("mnbt");
    let before = thread_ns();
    let ns = NetNs::create(&name).unwrap();
    assert_eq!(
        thread_ns(),
        before,
        "create must not move the calling thread"
    );
    assert_eq!(ns.name(), name);
    assert_eq!(ns.path(), std::path::Path::new("/run/netns").join(&name));
    assert_ne!(ns.id().unwrap(), before, "a new namespace, not ours");
    assert!(netns::list().unwrap().contains(&name));
    let again = NetNs::open(&name).unwrap();
    assert_eq!(again.id().unwrap(), ns.id().unwrap());
    assert!(matches!(
        NetNs::create(&name),
        Err(NetnsError::AlreadyExists { .. })
    ));
    assert_eq!(
        NetNs::open_or_create(&name).unwrap().id().unwrap(),
        ns.id().unwrap()
    );

    // iproute2 sees it, and lo is up inside.
    let (ok, out) = ip(&["netns", "list"]);
    assert!(
        ok && out
            .lines()
            .any(|l| l.split_whitespace().next() == Some(name.as_str())),
        "{out}"
    );
    let (ok, out) = ip(&["netns", "exec", &name, "ip", "-o", "link", "show", "lo"]);
    assert!(ok, "{out}");
    assert!(
        out.contains("UP") && out.contains("LOOPBACK"),
        "lo not up: {out}"
    );
    let (ok, out) = ip(&["-n", &name, "-o", "link"]);
    assert!(ok && out.lines().count() == 1, "only lo expected: {out}");

    drop(again);
    ns.delete().unwrap();
    assert!(!netns::list().unwrap().contains(&name));
    assert!(matches!(
        NetNs::open(&name),
        Err(NetnsError::NotFound { .. })
    ));
    netns::delete(&name).unwrap(); // absent: still Ok
    let (_, out) = ip(&["netns", "list"]);
    assert!(!out.contains(&name), "{out}");
}

#[test]
fn open_or_create_creates_when_absent() {
    let Some(()) = testkit::require_root("open_or_create_creates_when_absent") else {
        return;
    };
    let name = testkit::unique_name("mnbt");
    let ns = NetNsGuard::new(NetNs::open_or_create(&name).unwrap());
    assert!(netns::list().unwrap().contains(&name));
    let up = ns
        .run(|| std::net::TcpListener::bind("127.0.0.1:0").is_ok())
        .unwrap();
    assert!(up, "lo must be usable in an open_or_create namespace");
}

#[test]
fn iproute2_namespace_can_be_opened_and_deleted_by_us() {
    let Some(()) = testkit::require_root("iproute2_namespace_can_be_opened_and_deleted_by_us")
    else {
        return;
    };
    let name = testkit::unique_name("mnbt");
    let (ok, out) = ip(&["netns", "add", &name]);
    assert!(ok, "{out}");
    let ns = NetNs::open(&name).unwrap();
    let inside = ns.run(thread_ns).unwrap();
    assert_eq!(inside, ns.id().unwrap());
    ns.delete().unwrap();
    let (_, out) = ip(&["netns", "list"]);
    assert!(!out.contains(&name), "{out}");
}

#[test]
fn run_enters_the_namespace_on_another_thread() {
    let Some(()) = testkit::require_root("run_enters_the_namespace_on_another_thread") else {
        return;
    };
    let ns = NetNsGuard::create(&testkit::unique_name("mnbt")).unwrap();
    let before = thread_ns();
    let inside = ns.run(thread_ns).unwrap();
    assert_eq!(inside, ns.id().unwrap());
    assert_eq!(thread_ns(), before);

    // A listener made inside stays inside: a connector made inside reaches it, one made here
    // (on our own loopback) does not.
    let listener = ns
        .run(|| std::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap()
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let accept = std::thread::spawn(move || listener.accept().map(|(_, peer)| peer));
    let client = ns
        .run(move || std::net::TcpStream::connect(addr))
        .unwrap()
        .unwrap();
    let peer = accept.join().unwrap().unwrap();
    assert_eq!(peer, client.local_addr().unwrap());
    assert!(
        std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_millis(500)).is_err()
    );
}

#[test]
fn run_resumes_a_panic_in_the_caller() {
    let Some(()) = testkit::require_root("run_resumes_a_panic_in_the_caller") else {
        return;
    };
    let ns = NetNsGuard::create(&testkit::unique_name("mnbt")).unwrap();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ns.run(|| panic!("boom inside"))
    }));
    let payload = r.expect_err("the panic must reach the caller");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom inside"));
}

#[tokio::test]
async fn run_async_enters_the_namespace() {
    let Some(()) = testkit::require_root("run_async_enters_the_namespace") else {
        return;
    };
    let ns = NetNsGuard::create(&testkit::unique_name("mnbt")).unwrap();
    let inside = ns.run_async(thread_ns).await.unwrap();
    assert_eq!(inside, ns.id().unwrap());
    assert_ne!(thread_ns(), inside);
}

#[test]
fn guard_kills_processes_and_deletes() {
    let Some(()) = testkit::require_root("guard_kills_processes_and_deletes") else {
        return;
    };
    let name = testkit::unique_name("mnbt");
    let guard = NetNsGuard::create(&name).unwrap();
    let mut child = Command::new("ip")
        .args(["netns", "exec", &name, "sleep", "300"])
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while netns::pids_in(&guard).unwrap().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "sleep never appeared inside"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(netns::pids_in(&guard).unwrap(), vec![child.id()]);
    drop(guard);
    let status = child.wait().unwrap();
    assert!(!status.success(), "sleep must have been killed");
    assert!(!netns::list().unwrap().contains(&name));
}

#[test]
fn invalid_and_foreign_names_are_rejected() {
    let Some(()) = testkit::require_root("invalid_and_foreign_names_are_rejected") else {
        return;
    };
    for bad in ["", ".", "..", "a/b", &"x".repeat(256)] {
        assert!(
            matches!(NetNs::create(bad), Err(NetnsError::InvalidName { .. })),
            "{bad:?}"
        );
        assert!(
            matches!(NetNs::open(bad), Err(NetnsError::InvalidName { .. })),
            "{bad:?}"
        );
    }
    // A plain file in /run/netns (e.g. left by a crash between create and mount) is not a namespace.
    let name = testkit::unique_name("mnbt");
    let path = std::path::Path::new(netns::NETNS_RUN_DIR).join(&name);
    std::fs::write(&path, b"").unwrap();
    let r = NetNs::open(&name);
    netns::delete(&name).unwrap();
    assert!(matches!(r, Err(NetnsError::NotANamespace { .. })), "{r:?}");
    assert!(!path.exists());
}
