//! Solves one scenario file or GENIUS folder and prints the solution as JSON.
//!
//! `cargo run -p backchannel-formula --example solve -- crates/backchannel-formula/scenarios/us-iran.json`

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: solve FILE_OR_FOLDER");
        std::process::exit(2);
    };
    match backchannel_formula::load(std::path::Path::new(&path)) {
        Ok(s) => {
            let sol = backchannel_formula::solve(&s, &backchannel_formula::SolveOptions::default());
            println!("{}", serde_json::to_string_pretty(&sol).unwrap_or_default());
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
