//! Namespace and container build/teardown times (needs root; prints a notice and does nothing
//! otherwise). Run: `cargo bench -p netns --bench container -- --warm-up-time 1 --measurement-time 3`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};

fn namespaces(c: &mut Criterion) {
    if !testkit::is_root() {
        eprintln!("netns benches need root; skipped");
        return;
    }
    c.bench_function("namespace create+delete", |b| {
        b.iter(|| {
            let ns = netns::NetNs::create(&testkit::unique_name("mnbb")).unwrap();
            ns.delete().unwrap();
        })
    });
}

criterion_group!(benches, namespaces);
criterion_main!(benches);
