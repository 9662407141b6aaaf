//! Opening the rtnetlink socket inside a network namespace without moving any runtime thread.

use std::fs::File;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use nix::sched::{setns, CloneFlags};

use crate::DatapathError;

/// Where iproute2 keeps named namespaces.
const NETNS_DIR: &str = "/run/netns";

fn namespace_path(name: &str) -> PathBuf {
    if name.starts_with('/') {
        PathBuf::from(name)
    } else {
        Path::new(NETNS_DIR).join(name)
    }
}

/// Creates an rtnetlink connection whose socket lives in `namespace` (or the current one) and
/// spawns it on the current tokio runtime. The socket is created on a dedicated thread that
/// enters the namespace and then exits; a netlink socket stays bound to the namespace it was
/// created in.
pub fn connect(
    namespace: Option<&str>,
) -> Result<(tokio::task::JoinHandle<()>, rtnetlink::Handle), DatapathError> {
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| DatapathError::NoRuntime)?;
    let label = namespace.unwrap_or("current").to_string();
    let path = namespace.map(namespace_path);
    let rt = runtime.clone();
    let opened = std::thread::Builder::new()
        .name("datapath-netns".to_string())
        .spawn(move || -> std::io::Result<_> {
            if let Some(path) = path {
                let file = File::open(&path)?;
                setns(file.as_fd(), CloneFlags::CLONE_NEWNET).map_err(std::io::Error::from)?;
            }
            // The socket registers with the runtime's reactor; that needs the runtime context.
            let _guard = rt.enter();
            rtnetlink::new_connection()
        })
        .map_err(|source| DatapathError::Socket {
            namespace: label.clone(),
            source,
        })?
        .join()
        .map_err(|_| DatapathError::Socket {
            namespace: label.clone(),
            source: std::io::Error::other("namespace thread panicked"),
        })?;
    let (connection, handle, _messages) = opened.map_err(|source| DatapathError::Socket {
        namespace: label,
        source,
    })?;
    Ok((runtime.spawn(connection), handle))
}
