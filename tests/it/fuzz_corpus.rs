//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`, seeds and
//! everything fuzz runs kept) through the same entry points the libFuzzer
//! targets call, so a normal `cargo test` keeps every input the fuzzer has
//! seen handled without a panic — without building the fuzzer.

use super::repo;
use tenantsim::fuzzing::TARGETS;

#[test]
fn the_committed_corpus_is_handled_without_panics() {
    let mut total = 0;
    for (name, entry) in TARGETS {
        let dir = repo(&format!("fuzz/corpus/{name}"));
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "no corpus for {name}");
        for f in &files {
            let data = std::fs::read(f).unwrap();
            if std::panic::catch_unwind(|| entry(&data)).is_err() {
                panic!("fuzz target {name} panicked on {}", f.display());
            }
        }
        total += files.len();
    }
    assert!(total >= 20, "{total} corpus files");
}
