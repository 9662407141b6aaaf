//! Opening the rtnetlink socket inside a network namespace without moving any runtime thread.

use netns::NetNs;

use crate::DatapathError;

/// Creates an rtnetlink connection whose socket lives in the named `namespace` (or the current
/// one) and spawns it on the current tokio runtime. The socket is created by [`NetNs::run`] on a
/// dedicated thread that enters the namespace and then exits; a netlink socket stays bound to the
/// namespace it was created in.
pub fn connect(
    namespace: Option<&str>,
) -> Result<(tokio::task::JoinHandle<()>, rtnetlink::Handle), DatapathError> {
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| DatapathError::NoRuntime)?;
    let rt = runtime.clone();
    // The socket registers with the runtime's reactor; that needs the runtime context.
    let open = move || {
        let _guard = rt.enter();
        rtnetlink::new_connection()
    };
    let opened = match namespace {
        Some(name) => {
            let ns_err = |source| DatapathError::Namespace {
                namespace: name.to_string(),
                source,
            };
            NetNs::open(name)
                .map_err(ns_err)?
                .run(open)
                .map_err(ns_err)?
        }
        None => open(),
    };
    let (connection, handle, _messages) = opened.map_err(|source| DatapathError::Socket {
        namespace: namespace.unwrap_or("current").to_string(),
        source,
    })?;
    Ok((runtime.spawn(connection), handle))
}
