//! Criterion benches for the hot paths: loading a small ANAC domain, and whole solves from a few hundred
//! packages (where fixed costs dominate) to 10^30.
#![allow(clippy::unwrap_used)]

use backchannel_formula::synth::{Shape, random};
use backchannel_formula::{Scenario, SolveOptions, solve};
use criterion::{Criterion, criterion_group, criterion_main};

fn shape(parties: usize, issues: usize) -> Shape {
    Shape {
        parties,
        issues,
        options: 10,
        vary_options: false,
        coarse: false,
        red_lines: 5,
        requirements: 4,
        reservation_max: 0.3,
    }
}

fn bench(c: &mut Criterion) {
    let demo = Scenario::from_json_str(include_str!("../scenarios/us-iran.json")).unwrap();
    c.bench_function("solve us-iran", |b| {
        b.iter(|| solve(&demo, &SolveOptions::default()))
    });
    let folder =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/IS_BT_Acquisition");
    c.bench_function("load ANAC IS_BT_Acquisition", |b| {
        b.iter(|| backchannel_formula::load(&folder).unwrap())
    });
    let acquisition = backchannel_formula::load(&folder).unwrap();
    c.bench_function("solve ANAC IS_BT_Acquisition (384 packages)", |b| {
        b.iter(|| solve(&acquisition, &SolveOptions::default()))
    });
    let s30 = random(42, shape(2, 30));
    c.bench_function("solve 2 parties 30x10", |b| {
        b.iter(|| solve(&s30, &SolveOptions::default()))
    });
    let s3 = random(42, shape(3, 6));
    c.bench_function("solve 3 parties 6x10", |b| {
        b.iter(|| solve(&s3, &SolveOptions::default()))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench
}
criterion_main!(benches);
