//! `sample-data/` is exactly what the generator writes with its defaults, so
//! anyone can regenerate it (`just sample`) and review a change to it.

use std::path::{Path, PathBuf};

fn files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "csv" || x == "ndjson") {
                out.push(p.strip_prefix(root).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn committed_sample_matches_the_seeded_generator() {
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sample-data");
    let fresh = std::env::temp_dir().join(format!("devex-synth-test-{}", std::process::id()));
    let stats = devex_synth::generate(&devex_synth::Options::default(), &fresh).unwrap();
    assert_eq!(files(&committed), files(&fresh));
    for f in files(&fresh) {
        assert!(
            std::fs::read(committed.join(&f)).unwrap() == std::fs::read(fresh.join(&f)).unwrap(),
            "sample-data/{} differs from the generator's output: run `just sample`",
            f.display()
        );
    }
    std::fs::remove_dir_all(&fresh).unwrap();
    // The brief for the sample: at least 8 teams, 30 services, 8 quarters, under 5 MB.
    assert!(stats.services >= 30);
    let bytes: u64 = files(&committed).iter().map(|f| std::fs::metadata(committed.join(f)).unwrap().len()).sum();
    assert!(bytes < 5 * 1024 * 1024, "{bytes} bytes");
}
