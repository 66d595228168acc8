//! How much work the exact acceptable count takes on each GENIUS folder (for choosing limits).
use backchannel_formula::count::acceptable_in_box_within;
use backchannel_formula::model::Model;
fn main() {
    let root = std::env::args().nth(1).unwrap_or_default();
    let mut stack = vec![std::path::PathBuf::from(root)];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            }
        }
        let Ok(s) = backchannel_formula::load(&d) else {
            continue;
        };
        let m = Model::new(&s);
        let Some(bxs) = m.boxes() else { continue };
        let mut work = usize::MAX;
        let t = std::time::Instant::now();
        let c = bxs
            .iter()
            .map(|b| acceptable_in_box_within(&m, b, usize::MAX / 16, &mut work))
            .collect::<Vec<_>>();
        println!(
            "{} {} {:?} {:.6}",
            usize::MAX - work,
            d.display(),
            c.first().copied().flatten(),
            t.elapsed().as_secs_f64()
        );
    }
}
