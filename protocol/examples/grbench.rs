//! Times one multiplication in each extension of the active engine's checks.
use protocol::active::ext::{Ext, Gf, Gr};
fn main() {
    let mut x = Gr(std::array::from_fn(|i| (i as u64).wrapping_mul(0x9E3779B97F4A7C15)));
    let y = Gr(std::array::from_fn(|i| (i as u64 + 7).wrapping_mul(0xC2B2AE3D27D4EB4F)));
    let t = std::time::Instant::now();
    for _ in 0..100_000 {
        x = x.mul(y);
    }
    println!("gr mul {:?} per op ({:?})", t.elapsed() / 100_000, x.0[0]);
    let mut g = Gf(0x1234_5678_9abc_def0);
    let h = Gf(0x0fed_cba9_8765_4321);
    let t = std::time::Instant::now();
    for _ in 0..10_000_000 {
        g = g.mul(h);
    }
    println!("gf mul {:?} per op ({:?})", t.elapsed() / 10_000_000, g.0);
}
