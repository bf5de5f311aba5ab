//! Embeds the bundled rule pack (`detections/**/*.yml`) into the binary.

use std::fs;
use std::path::{Path, PathBuf};

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else if matches!(p.extension().and_then(|e| e.to_str()), Some("yml" | "yaml")) {
            out.push(p);
        }
    }
}

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("manifest dir"));
    let det = root.join("detections");
    println!("cargo:rerun-if-changed=detections");
    let mut files = Vec::new();
    walk(&det, &mut files);
    files.sort();
    let mut src = String::from("/// Bundled rule files: (path relative to detections/, text).\npub static EMBEDDED_RULES: &[(&str, &str)] = &[\n");
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
        let rel = f
            .strip_prefix(&det)
            .expect("under detections")
            .to_string_lossy()
            .replace('\\', "/");
        src.push_str(&format!(
            "    ({:?}, include_str!({:?})),\n",
            rel,
            f.display().to_string()
        ));
    }
    src.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("out dir")).join("embedded_rules.rs");
    fs::write(out, src).expect("write embedded_rules.rs");
}
