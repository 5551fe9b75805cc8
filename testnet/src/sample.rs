//! Seeded sample customers drawn from a few planted segments.
//!
//! Every company's file has the same columns: an id (not shared), five numeric features, a
//! region, a protected attribute (`gender`) and a consent flag. Records come from four
//! planted segments with Gaussian spread, so a segmentation has structure to find; the
//! protected attribute's mix differs a little between segments, so fairness statistics have
//! something to measure.

use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha20Rng;
use std::path::Path;
use wire::schema::{CategoricalColumn, NumericColumn, Schema};

/// Name of the dataset the testnet ingests.
pub const DATASET: &str = "customers";

/// The numeric features with their declared ranges.
pub const FEATURES: [(&str, f64, f64); 5] = [
    ("age", 18.0, 100.0),
    ("income", 0.0, 1_000_000.0),
    ("tenure_months", 0.0, 600.0),
    ("monthly_spend", 0.0, 10_000.0),
    ("visits", 0.0, 200.0),
];

/// Levels of the protected attribute.
pub const GENDERS: [&str; 3] = ["female", "male", "nonbinary"];
/// Levels of the region.
pub const REGIONS: [&str; 4] = ["north", "south", "east", "west"];

struct Segment {
    mean: [f64; 5],
    spread: [f64; 5],
    weight: f64,
    gender_mix: [f64; 3],
}

const SEGMENTS: [Segment; 4] = [
    Segment {
        mean: [26.0, 32_000.0, 14.0, 180.0, 22.0],
        spread: [4.0, 6_000.0, 8.0, 50.0, 5.0],
        weight: 0.3,
        gender_mix: [0.45, 0.45, 0.10],
    },
    Segment {
        mean: [41.0, 72_000.0, 64.0, 650.0, 9.0],
        spread: [5.0, 12_000.0, 20.0, 120.0, 3.0],
        weight: 0.3,
        gender_mix: [0.55, 0.42, 0.03],
    },
    Segment {
        mean: [53.0, 165_000.0, 120.0, 2_100.0, 4.0],
        spread: [6.0, 30_000.0, 30.0, 400.0, 2.0],
        weight: 0.15,
        gender_mix: [0.35, 0.62, 0.03],
    },
    Segment {
        mean: [69.0, 46_000.0, 190.0, 320.0, 13.0],
        spread: [5.0, 9_000.0, 40.0, 80.0, 4.0],
        weight: 0.25,
        gender_mix: [0.56, 0.43, 0.01],
    },
];

/// The planted segment a customer most likely came from: the nearest segment mean, each
/// feature measured in that segment's spread (`features` in [`FEATURES`] order).
pub fn planted_segment(features: &[f64]) -> usize {
    let distance = |s: &Segment| -> f64 {
        features.iter().zip(s.mean.iter().zip(&s.spread)).map(|(x, (m, sd))| ((x - m) / sd).powi(2)).sum()
    };
    (0..SEGMENTS.len())
        .min_by(|&a, &b| distance(&SEGMENTS[a]).total_cmp(&distance(&SEGMENTS[b])))
        .unwrap_or(0)
}

/// The schema of the sample files.
pub fn schema() -> Schema {
    Schema {
        features: FEATURES
            .iter()
            .map(|(n, lo, hi)| NumericColumn { name: (*n).into(), min: Some(*lo), max: Some(*hi) })
            .collect(),
        categorical: vec![
            CategoricalColumn {
                name: "region".into(),
                levels: REGIONS.iter().map(|s| (*s).into()).collect(),
            },
            CategoricalColumn {
                name: "gender".into(),
                levels: GENDERS.iter().map(|s| (*s).into()).collect(),
            },
        ],
        consent: Some("consent".into()),
    }
}

fn normal(rng: &mut impl Rng) -> f64 {
    // Box-Muller transform.
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn pick(rng: &mut impl Rng, weights: &[f64]) -> usize {
    let mut x = rng.random::<f64>() * weights.iter().sum::<f64>();
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len() - 1
}

/// Writes `records` sample customers to `path`, drawn with `seed`; about 8% do not consent.
pub fn write_customers(path: &Path, records: usize, seed: u64, id_prefix: &str) -> std::io::Result<()> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let mut w = csv::Writer::from_path(path)?;
    let mut header = vec!["customer_id"];
    header.extend(FEATURES.iter().map(|f| f.0));
    header.extend(["region", "gender", "consent"]);
    w.write_record(&header)?;
    let weights: Vec<f64> = SEGMENTS.iter().map(|s| s.weight).collect();
    for i in 0..records {
        let seg = &SEGMENTS[pick(&mut rng, &weights)];
        let mut row = vec![format!("{id_prefix}{i:06}")];
        for (k, (_, lo, hi)) in FEATURES.iter().enumerate() {
            let x = (seg.mean[k] + seg.spread[k] * normal(&mut rng)).clamp(*lo, *hi);
            row.push(if k == 3 { format!("{x:.2}") } else { format!("{}", x.round()) });
        }
        row.push(REGIONS[rng.random_range(0..REGIONS.len())].into());
        row.push(GENDERS[pick(&mut rng, &seg.gender_mix)].into());
        row.push(if rng.random::<f64>() < 0.92 { "yes" } else { "no" }.into());
        w.write_record(&row)?;
    }
    w.flush()
}

/// Writes `records` points from `k` Gaussian blobs in `d` dimensions (columns `f1..fd`, and
/// a categorical `group` whose mix depends on the blob), drawn with `seed`: centres uniform in
/// `[-10, 10]^d`, spreads between 1 and 3, unequal weights, so that blobs overlap a little.
/// The benchmark data.
pub fn write_blobs(path: &Path, records: usize, d: usize, k: usize, seed: u64) -> std::io::Result<()> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed ^ 0x626c_6f62);
    let centres: Vec<Vec<f64>> =
        (0..k).map(|_| (0..d).map(|_| rng.random_range(-10.0..10.0)).collect()).collect();
    let spreads: Vec<f64> = (0..k).map(|_| rng.random_range(1.0..3.0)).collect();
    let weights: Vec<f64> = (0..k).map(|_| rng.random_range(0.5..1.5)).collect();
    let mixes: Vec<[f64; 3]> = (0..k)
        .map(|_| [rng.random_range(0.2..1.0), rng.random_range(0.2..1.0), rng.random_range(0.0..0.3)])
        .collect();
    let mut w = csv::Writer::from_path(path)?;
    let mut header: Vec<String> = (1..=d).map(|j| format!("f{j}")).collect();
    header.push("group".into());
    w.write_record(&header)?;
    for _ in 0..records {
        let b = pick(&mut rng, &weights);
        let mut row: Vec<String> =
            centres[b].iter().map(|c| format!("{:.3}", c + spreads[b] * normal(&mut rng))).collect();
        row.push(["a", "b", "c"][pick(&mut rng, &mixes[b])].into());
        w.write_record(&row)?;
    }
    w.flush()
}
