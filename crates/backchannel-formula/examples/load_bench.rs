//! Times loading (and solving) one GENIUS folder or scenario file many times, and, for a folder, the same
//! file-system work alone (list the folder, read each XML file): the floor under any loader; then that work
//! in parts (listing, opening and closing, reading), and parsing the files' XML already in memory.
//!
//! `cargo run --release -p backchannel-formula --example load_bench -- FOLDER [REPEATS]`

use std::path::Path;
use std::time::Instant;

use backchannel_formula::{SolveOptions, load, solve};

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: load_bench FOLDER [REPEATS]");
        std::process::exit(2);
    };
    let repeat: u32 = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let path = Path::new(&path);
    let t0 = Instant::now();
    let mut n = 0usize;
    for _ in 0..repeat {
        match load(path) {
            Ok(s) => n += s.issues.len(),
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        }
    }
    let load_s = t0.elapsed().as_secs_f64() / f64::from(repeat);
    if path.is_dir() {
        let t = Instant::now();
        let mut bytes = 0usize;
        for _ in 0..repeat {
            let Ok(entries) = std::fs::read_dir(path) else {
                return;
            };
            let mut files: Vec<_> = entries
                .filter_map(Result::ok)
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "xml"))
                .collect();
            files.sort();
            for f in files {
                let mut buf = Vec::with_capacity(16 << 10);
                if let Ok(mut file) = std::fs::File::open(&f) {
                    let _ = std::io::Read::read_to_end(&mut file, &mut buf);
                }
                bytes += buf.len();
            }
        }
        let io_s = t.elapsed().as_secs_f64() / f64::from(repeat);
        println!(
            "list and read the files only: {:.1} us ({bytes} bytes)",
            io_s * 1e6
        );
        parts(path, repeat);
    }
    let Ok(s) = load(path) else { return };
    let t1 = Instant::now();
    for _ in 0..repeat {
        n += solve(&s, &SolveOptions::default()).pareto.len();
    }
    let solve_s = t1.elapsed().as_secs_f64() / f64::from(repeat);
    println!(
        "load {:.1} us, solve {:.1} us ({n})",
        load_s * 1e6,
        solve_s * 1e6
    );
}

/// The file-system work in parts, and the XML parse of the files already read.
fn parts(dir: &Path, repeat: u32) {
    let per = |t: Instant| t.elapsed().as_secs_f64() * 1e6 / f64::from(repeat);
    let t = Instant::now();
    let mut files = Vec::new();
    for _ in 0..repeat {
        files = std::fs::read_dir(dir)
            .map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
    }
    let list = per(t);
    let t = Instant::now();
    for _ in 0..repeat {
        for f in &files {
            drop(std::fs::File::open(f));
        }
    }
    let open = per(t);
    let mut texts = vec![String::new(); files.len()];
    let t = Instant::now();
    for _ in 0..repeat {
        for (f, text) in files.iter().zip(&mut texts) {
            text.clear();
            if let Ok(mut file) = std::fs::File::open(f) {
                let _ = std::io::Read::read_to_string(&mut file, text);
            }
        }
    }
    let read = per(t);
    let t = Instant::now();
    for _ in 0..repeat {
        for text in &texts {
            let _ = std::hint::black_box(backchannel_formula::xml::parse_doc(text));
        }
    }
    let parse = per(t);
    println!(
        "in parts: list {list:.1} us; open and close {:.1} us per file; read {:.1} us per file; parse the XML in memory {parse:.1} us",
        open / files.len().max(1) as f64,
        (read - open) / files.len().max(1) as f64,
    );
}
