//! docs/deploy.md shows the tested configurations verbatim: each block that follows a line
//! `<!-- verbatim: PATH -->` must equal the file at PATH, byte for byte, and every front-end
//! configuration that tests/deploy/lb.sh runs (tests/deploy/*.conf, *.cfg) and every unit file
//! under deploy/systemd/ must be shown. A configuration edited in one place and not the other
//! fails here, so the guide never shows a configuration that the tests do not run.

use std::fs;
use std::path::{Path, PathBuf};

const DOC: &str = "docs/deploy.md";
const MARKER: &str = "<!-- verbatim: ";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The (path, block) pairs of a guide: each marker line and the fenced block right after it.
fn verbatim_blocks(doc: &str) -> Result<Vec<(String, String)>, String> {
    let mut blocks = Vec::new();
    let mut lines = doc.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        let Some(rest) = line.strip_prefix(MARKER) else {
            continue;
        };
        let path = rest
            .strip_suffix(" -->")
            .ok_or_else(|| format!("{DOC}:{}: marker does not end with ` -->`", n + 1))?
            .to_string();
        let fence = match lines.next() {
            Some((_, fence)) if fence.starts_with("```") => fence,
            _ => {
                return Err(format!(
                    "{DOC}:{}: no ``` block right after the marker",
                    n + 1
                ))
            }
        };
        let fence = &fence[..fence.len() - fence.trim_start_matches('`').len()];
        let mut block = String::new();
        loop {
            match lines.next() {
                Some((_, l)) if l == fence => break,
                Some((_, l)) => {
                    block.push_str(l);
                    block.push('\n');
                }
                None => return Err(format!("{DOC}:{}: block never closed", n + 1)),
            }
        }
        blocks.push((path, block));
    }
    Ok(blocks)
}

/// Files in `dir` (relative to the root) whose names end with one of `endings`; none when the
/// folder does not exist.
fn files(dir: &str, endings: &[&str]) -> Vec<String> {
    let Ok(entries) = fs::read_dir(root().join(dir)) else {
        return Vec::new();
    };
    let mut found: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| endings.iter().any(|end| name.ends_with(end)))
        .map(|name| format!("{dir}/{name}"))
        .collect();
    found.sort();
    found
}

#[test]
fn the_guide_shows_each_tested_configuration_verbatim() {
    let doc = fs::read_to_string(root().join(DOC)).expect("docs/deploy.md");
    let blocks = verbatim_blocks(&doc).unwrap_or_else(|e| panic!("{e}"));
    for (path, block) in &blocks {
        let file = fs::read_to_string(root().join(Path::new(path)))
            .unwrap_or_else(|e| panic!("{DOC} shows {path}, which cannot be read: {e}"));
        assert!(
            *block == file,
            "{DOC}'s block for {path} differs from the file (copy the file into the guide)"
        );
    }
    let mut required = files("tests/deploy", &[".conf", ".cfg"]);
    required.extend(files("deploy/systemd", &[".service", ".socket"]));
    assert!(
        required.len() >= 3,
        "the tested configurations are missing: {required:?}"
    );
    for path in &required {
        assert!(
            blocks.iter().any(|(shown, _)| shown == path),
            "{DOC} does not show {path} (add `{MARKER}{path} -->` and the file in a block)"
        );
    }
}

#[test]
fn the_block_reader_finds_blocks_and_rejects_broken_markers() {
    let doc = "text\n<!-- verbatim: a.conf -->\n```nginx\nx;\n\n```\n<!-- verbatim: b.cfg -->\n````\n```\n````\n";
    assert_eq!(
        verbatim_blocks(doc).unwrap(),
        vec![
            ("a.conf".to_string(), "x;\n\n".to_string()),
            ("b.cfg".to_string(), "```\n".to_string())
        ]
    );
    assert!(verbatim_blocks("<!-- verbatim: a.conf\n```\n```\n").is_err());
    assert!(verbatim_blocks("<!-- verbatim: a.conf -->\ntext\n").is_err());
    assert!(verbatim_blocks("<!-- verbatim: a.conf -->\n```\nx\n").is_err());
}
