//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`, seeds and
//! everything fuzz runs kept) through the same entry points the libFuzzer
//! targets call, so a normal `cargo test` keeps every input the fuzzer has
//! seen handled without a panic — without building the fuzzer.

use super::repo;
use std::path::PathBuf;
use tenantsim::fuzzing::TARGETS;

/// The committed corpus of target `name`: (path, bytes), sorted by path.
fn corpus(name: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = repo(&format!("fuzz/corpus/{name}"));
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|f| {
            let data = std::fs::read(&f).unwrap();
            (f, data)
        })
        .collect()
}

#[test]
fn the_committed_corpus_is_handled_without_panics() {
    let mut total = 0;
    for (name, entry) in TARGETS {
        let files = corpus(name);
        assert!(!files.is_empty(), "no corpus for {name}");
        for (f, data) in &files {
            if std::panic::catch_unwind(|| entry(data)).is_err() {
                panic!("fuzz target {name} panicked on {}", f.display());
            }
        }
        total += files.len();
    }
    assert!(total >= 20, "{total} corpus files");
}

/// A fuzz smoke run on stable Rust, in every `cargo test`: each target gets
/// `TENANTSIM_FUZZ_SMOKE` (default 3,000) inputs made by mutating its
/// committed corpus — byte flips, inserted and deleted runs, duplicated
/// runs, splices of two files, and tokens that broke readers before
/// (huge and negative numbers, NaN, separators, quotes). Seeded, so a
/// failure repeats; the failing input is written to
/// `target/fuzz-smoke/<target>-<n>` and named in the message. It finds
/// less than libFuzzer (no coverage feedback) but needs no nightly
/// toolchain and no 15-minute fuzzer build; see docs/testing.md "Hardening".
#[test]
fn mutated_corpus_inputs_are_handled_without_panics() {
    use rand::{RngExt, SeedableRng};
    let per_target: usize = std::env::var("TENANTSIM_FUZZ_SMOKE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    const TOKENS: &[&[u8]] = &[
        b"1e308",
        b"-1",
        b"0",
        b"NaN",
        b"inf",
        b"18446744073709551615",
        b"-9223372036854775808",
        b"\n",
        b"\r\n",
        b"\"",
        b"[",
        b"]",
        b"{",
        b"}",
        b"=",
        b",",
        b"\t",
        b":",
        b" ",
        b"%%%%",
        b"1e-300",
        b"999999999999",
        b"\xff\xfe",
        b"\x00",
        b"2052-01-01T00:00:00Z",
        b"[[",
        b"]]",
        b"\\",
        b"'",
        b"#",
    ];
    let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(0xf022_5e3d);
    let mut report = Vec::new();
    for (name, entry) in TARGETS {
        let corpus: Vec<Vec<u8>> = corpus(name).into_iter().map(|(_, data)| data).collect();
        let started = std::time::Instant::now();
        for n in 0..per_target {
            let mut data = corpus[rng.random_range(0..corpus.len())].clone();
            for _ in 0..rng.random_range(1..=4) {
                let len = data.len();
                let at = if len == 0 { 0 } else { rng.random_range(0..=len) };
                match rng.random_range(0..6) {
                    0 if len > 0 => {
                        let i = rng.random_range(0..len);
                        data[i] ^= 1 << rng.random_range(0..8);
                    }
                    1 => {
                        let t = TOKENS[rng.random_range(0..TOKENS.len())];
                        data.splice(at..at, t.iter().copied());
                    }
                    2 if len > 0 => {
                        let end = (at + rng.random_range(1..=16)).min(len);
                        data.drain(at.min(end)..end);
                    }
                    3 if len > 0 => {
                        let from = rng.random_range(0..len);
                        let end = (from + rng.random_range(1..=64)).min(len);
                        let run: Vec<u8> = data[from..end].to_vec();
                        for _ in 0..rng.random_range(1..=8) {
                            data.splice(at..at, run.iter().copied());
                        }
                    }
                    4 => {
                        let other = &corpus[rng.random_range(0..corpus.len())];
                        let cut = if other.is_empty() {
                            0
                        } else {
                            rng.random_range(0..other.len())
                        };
                        data.truncate(at);
                        data.extend_from_slice(&other[cut..]);
                    }
                    _ => {
                        let i = if len == 0 { 0 } else { rng.random_range(0..len) };
                        data.insert(i, rng.random());
                    }
                }
            }
            if std::panic::catch_unwind(|| entry(&data)).is_err() {
                let out = repo("target/fuzz-smoke");
                let _ = std::fs::create_dir_all(&out);
                let path = out.join(format!("{name}-{n}"));
                let _ = std::fs::write(&path, &data);
                panic!(
                    "fuzz target {name} panicked on mutated input {n}, saved as {}; \
                     replay it with `cargo +nightly fuzz run {name} {}` or add it to tests/it/regression.rs",
                    path.display(),
                    path.display()
                );
            }
        }
        report.push(format!(
            "{name} {per_target} in {:.2} s",
            started.elapsed().as_secs_f64()
        ));
    }
    eprintln!("fuzz smoke: {}", report.join(", "));
}
