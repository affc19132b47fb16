//! Replays every fuzz corpus and regression input as an ordinary test, so that CI checks what
//! live fuzzing found without fuzzing itself.

use std::path::Path;

#[test]
fn zeek_reader_corpus_replays_without_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut replayed = 0;
    for dir in ["corpus/seed/zeek_reader", "corpus/zeek_reader", "regressions/zeek_reader"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else { continue };
        for entry in entries.flatten() {
            // A live fuzzer may be reducing the local corpus while this runs.
            let Ok(data) = std::fs::read(entry.path()) else { continue };
            lasthop_sources::fuzzing::read_bytes(&data);
            replayed += 1;
        }
    }
    assert!(replayed >= 10, "expected the committed seed corpus, replayed {replayed} inputs");
}
