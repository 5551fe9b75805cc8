//! The extensions the checks compute in: `GF(2^64)` for binary sharings and the Galois ring
//! `GR(2^64, 64)` for arithmetic ones, both as `Z[X] / (2^k, f(X))` with the same
//! modulus `f = X^64 + X^4 + X^3 + X + 1` (irreducible over `GF(2)`, so `f` is a basic
//! irreducible and the quotient ring is a Galois ring; `k = 1` gives the field).
//!
//! What the checks need of them ([`Ext`]): ring operations, multiplication by the generator
//! `X` (cheap: a shift and a reduction), inverses of units, and sampling from an
//! *exceptional set*: elements whose pairwise differences are units, so that a nonzero
//! polynomial of degree `d` vanishes on at most `d` of them (Schwartz-Zippel over Galois
//! rings). The polynomials with 0/1 coefficients form such a set (a difference is nonzero
//! modulo 2, hence a unit): the field samples all `2^64`, the ring those with exactly
//! [`CHALLENGE_WEIGHT`] ones (`C(64, 16) > 2^48.79` of them), whose products are cheaper.

use rand::{Rng, RngExt};

/// Degree of both extensions over their base ring.
pub const DEGREE: usize = 64;
/// The terms of `f` below `X^64`: `X^4 + X^3 + X + 1`.
const LOW_TERMS: [usize; 4] = [0, 1, 3, 4];
/// `f` without its top term, as a bit mask (for the field).
const LOW_MASK: u64 = 0b11011;
/// Ones in every element of the ring's exceptional set (see [`Gr::exceptional`]).
pub const CHALLENGE_WEIGHT: usize = 16;
/// `log2` of the size of the ring's exceptional set, `C(64, 16)`, rounded down to a
/// hundredth (`docs/protocol.md`, Soundness).
pub const RING_SET_BITS: f64 = 48.79;

/// An extension ring of a sharing's base ring, as the checks use it.
pub trait Ext: Copy + PartialEq + Send + Sync + std::fmt::Debug + 'static {
    /// Ring words in one element, as it travels in a resharing.
    const WORDS: usize;
    /// Whether sharings of it combine by XOR (the field) or by addition (the ring).
    const BINARY: bool;
    /// Zero.
    fn zero() -> Self;
    /// One.
    fn one() -> Self;
    /// The generator `X`.
    fn generator() -> Self;
    /// Sum.
    fn add(self, other: Self) -> Self;
    /// Difference.
    fn sub(self, other: Self) -> Self;
    /// Product.
    fn mul(self, other: Self) -> Self;
    /// Product with `X`.
    fn mul_generator(self) -> Self;
    /// A uniform element of the exceptional set (0/1 coefficients).
    fn exceptional<R: Rng + ?Sized>(rng: &mut R) -> Self;
    /// The inverse of a unit (an element nonzero modulo 2).
    fn inverse(self) -> Self;
    /// Appends its words.
    fn put(self, out: &mut Vec<u64>);
    /// Reads one element from the front of `words`.
    fn take(words: &[u64]) -> Self;
    /// Rounds of a check in which the lifted vector `b` stays a combination of its pieces
    /// (see `check::compress`): while the pieces are fewer than about the cost of a full
    /// product over that of a product by a base value.
    const PIECE_ROUNDS: u32;
    /// `self + other v` for a base-ring `v` (for the field, a bit).
    fn add_scaled(&mut self, other: &Self, v: u64);
    /// `self + (x + y) v` for a base-ring `v`, without the sum as a value of its own.
    fn add_sum_scaled(&mut self, x: &Self, y: &Self, v: u64) {
        self.add_scaled(&x.add(*y), v);
    }
    /// Products by one fixed element, prepared (a check multiplies whole vectors by each
    /// challenge).
    type Times: Send + Sync;
    /// Prepares products by `self`.
    fn times(self) -> Self::Times;
    /// `self` times the prepared element.
    fn mul_times(self, by: &Self::Times) -> Self;
    /// `self + (high - self) r` for the prepared `r`, in place: a fold of a check's vectors.
    fn fold_line(&mut self, high: &Self, by: &Self::Times) {
        *self = self.add(high.sub(*self).mul_times(by));
    }
}

/// `GF(2^64)`: bit `i` is the coefficient of `X^i`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Gf(pub u64);

/// Carry-less product of two 64-bit polynomials (4-bit windows).
fn clmul(a: u64, b: u64) -> u128 {
    let mut table = [0u128; 16];
    for i in 1..16usize {
        table[i] = if i % 2 == 0 { table[i / 2] << 1 } else { table[i - 1] ^ a as u128 };
    }
    let mut r = 0u128;
    for nibble in (0..16).rev() {
        r = (r << 4) ^ table[((b >> (nibble * 4)) & 15) as usize];
    }
    r
}

/// `v (X^4 + X^3 + X + 1)` as a carry-less product, by shifts.
fn times_low(v: u64) -> u128 {
    let v = v as u128;
    v ^ (v << 1) ^ (v << 3) ^ (v << 4)
}

impl Gf {
    fn reduce(x: u128) -> Gf {
        let (lo, hi) = (x as u64, (x >> 64) as u64);
        // X^64 = X^4 + X^3 + X + 1: fold the high half twice (the second fold has 4 bits).
        let folded = times_low(hi);
        let (lo2, hi2) = (folded as u64, (folded >> 64) as u64);
        Gf(lo ^ lo2 ^ times_low(hi2) as u64)
    }
}

impl Ext for Gf {
    const WORDS: usize = 1;
    const BINARY: bool = true;
    fn zero() -> Self {
        Gf(0)
    }
    fn one() -> Self {
        Gf(1)
    }
    fn generator() -> Self {
        Gf(2)
    }
    fn add(self, other: Self) -> Self {
        Gf(self.0 ^ other.0)
    }
    fn sub(self, other: Self) -> Self {
        Gf(self.0 ^ other.0)
    }
    /// Products by the small elements the first round of a check is full of (the lifted bits
    /// `0`, `1` and their lines `b0 + X (b1 - b0)`) skip the carry-less product.
    fn mul(self, other: Self) -> Self {
        let (small, big) = if other.0 < self.0 { (other.0, self) } else { (self.0, other) };
        match small {
            0 => Gf(0),
            1 => big,
            2 => big.mul_generator(),
            3 => big.mul_generator().add(big),
            _ => Gf::reduce(clmul(self.0, other.0)),
        }
    }
    fn mul_generator(self) -> Self {
        let top = self.0 >> 63;
        Gf((self.0 << 1) ^ (top * LOW_MASK))
    }
    fn exceptional<R: Rng + ?Sized>(rng: &mut R) -> Self {
        Gf(rng.random())
    }
    /// `a^(2^64 - 2)`.
    fn inverse(self) -> Self {
        let mut result = Gf::one();
        let mut square = self;
        // 2^64 - 2 = 0b111...110
        for bit in 0..64 {
            if bit > 0 {
                result = result.mul(square);
            }
            square = square.mul(square);
        }
        result
    }
    fn put(self, out: &mut Vec<u64>) {
        out.push(self.0);
    }
    fn take(words: &[u64]) -> Self {
        Gf(words[0])
    }
    const PIECE_ROUNDS: u32 = 3;
    /// Without a branch: the bits are random.
    fn add_scaled(&mut self, other: &Self, v: u64) {
        self.0 ^= other.0 & (v & 1).wrapping_neg();
    }
    /// `table[k][v]` is the fixed element times `v X^(8k)`: a product by it is GF(2)-linear,
    /// so eight lookups, one per byte, make it.
    type Times = Box<[[u64; 256]; 8]>;
    fn times(self) -> Self::Times {
        let mut table = Box::new([[0u64; 256]; 8]);
        let mut power = self;
        for row in table.iter_mut() {
            let mut basis = [0u64; 8];
            for b in &mut basis {
                *b = power.0;
                power = power.mul_generator();
            }
            for v in 1..256usize {
                row[v] = row[v & (v - 1)] ^ basis[v.trailing_zeros() as usize];
            }
        }
        table
    }
    fn mul_times(self, by: &Self::Times) -> Self {
        Gf(by.iter().enumerate().fold(0, |acc, (k, row)| acc ^ row[((self.0 >> (8 * k)) & 255) as usize]))
    }
}

/// `GR(2^64, 64)`: coefficient `i` of `X^i` in `Z_2^64`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Gr(pub [u64; DEGREE]);

impl std::fmt::Debug for Gr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Gr({:?}..)", &self.0[..4])
    }
}

impl Gr {
    /// The constant `v` (the base ring inside the extension).
    pub fn constant(v: u64) -> Gr {
        let mut c = [0u64; DEGREE];
        c[0] = v;
        Gr(c)
    }

    /// Product with a base-ring value (coefficient-wise).
    pub fn scale(self, v: u64) -> Gr {
        let mut c = self.0;
        for x in &mut c {
            *x = x.wrapping_mul(v);
        }
        Gr(c)
    }

    /// An element of the exceptional set ([`Ext::exceptional`]), as the mask of its ones.
    pub fn exceptional_bits<R: Rng + ?Sized>(rng: &mut R) -> u64 {
        let mut bits = 0u64;
        for j in (DEGREE - CHALLENGE_WEIGHT)..DEGREE {
            let t = rng.random_range(0..=j);
            bits |= if (bits >> t) & 1 == 1 { 1 << j } else { 1 << t };
        }
        bits
    }

    /// The 0/1 polynomial with the ones of `bits`, times the base-ring value `v`.
    pub fn bits_scaled(bits: u64, v: u64) -> Gr {
        Gr(std::array::from_fn(|i| ((bits >> i) & 1).wrapping_neg() & v))
    }

    /// `self + w v` for the 0/1 polynomial `w` with the ones of `bits`.
    pub fn add_bits_scaled(&mut self, bits: u64, v: u64) {
        for (i, c) in self.0.iter_mut().enumerate() {
            *c = c.wrapping_add(((bits >> i) & 1).wrapping_neg() & v);
        }
    }

    /// The reduction modulo 2, as a field element.
    fn mod2(self) -> Gf {
        Gf(self.0.iter().enumerate().fold(0u64, |acc, (i, c)| acc | ((c & 1) << i)))
    }
}

impl Ext for Gr {
    const WORDS: usize = DEGREE;
    const BINARY: bool = false;
    fn zero() -> Self {
        Gr([0; DEGREE])
    }
    fn one() -> Self {
        Gr::constant(1)
    }
    fn generator() -> Self {
        let mut c = [0u64; DEGREE];
        c[1] = 1;
        Gr(c)
    }
    fn add(self, other: Self) -> Self {
        let mut c = self.0;
        for (a, b) in c.iter_mut().zip(&other.0) {
            *a = a.wrapping_add(*b);
        }
        Gr(c)
    }
    fn sub(self, other: Self) -> Self {
        let mut c = self.0;
        for (a, b) in c.iter_mut().zip(&other.0) {
            *a = a.wrapping_sub(*b);
        }
        Gr(c)
    }
    /// Products by a few-term element (a lifted ring value, its line `b0 + X (b1 - b0)`) or
    /// by an element of the exceptional set (every challenge) skip Karatsuba: the first is a
    /// few scaled copies, the second a sum of shifted copies without multiplications.
    fn mul(self, other: Self) -> Self {
        let mut wide = [0u64; 2 * DEGREE];
        let sparse = |x: &Gr| x.0.iter().filter(|c| **c != 0).count() <= 4;
        let bits = |x: &Gr| x.0.iter().all(|c| *c <= 1);
        if sparse(&other) {
            sparse_product(&self.0, &other.0, &mut wide);
        } else if sparse(&self) {
            sparse_product(&other.0, &self.0, &mut wide);
        } else if bits(&other) {
            shifted_sum(&self.0, &other.0, &mut wide);
        } else if bits(&self) {
            shifted_sum(&other.0, &self.0, &mut wide);
        } else {
            karatsuba(&self.0, &other.0, &mut wide);
        }
        reduce_wide(&mut wide);
        let mut c = [0u64; DEGREE];
        c.copy_from_slice(&wide[..DEGREE]);
        Gr(c)
    }
    fn mul_generator(self) -> Self {
        let mut c = [0u64; DEGREE];
        c[1..].copy_from_slice(&self.0[..DEGREE - 1]);
        let top = self.0[DEGREE - 1];
        for k in LOW_TERMS {
            c[k] = c[k].wrapping_sub(top);
        }
        Gr(c)
    }
    /// Uniform among the 0/1 polynomials with exactly [`CHALLENGE_WEIGHT`] ones (Floyd's
    /// sampling of a subset): a set of `C(64, 16) > 2^48.79` elements, and products by one
    /// of them are that many shifted copies (half the 32 of a uniform 0/1 polynomial).
    fn exceptional<R: Rng + ?Sized>(rng: &mut R) -> Self {
        Gr::bits_scaled(Gr::exceptional_bits(rng), 1)
    }
    /// The inverse modulo 2 lifted by Newton's iteration `y <- y (2 - a y)`, which doubles
    /// the correct low bits of every coefficient each step (1, 2, 4, ..., 64).
    fn inverse(self) -> Self {
        let low = self.mod2().inverse();
        let mut y = Gr(std::array::from_fn(|i| (low.0 >> i) & 1));
        let two = Gr::constant(2);
        for _ in 0..6 {
            y = y.mul(two.sub(self.mul(y)));
        }
        y
    }
    fn put(self, out: &mut Vec<u64>) {
        out.extend_from_slice(&self.0);
    }
    fn take(words: &[u64]) -> Self {
        let mut c = [0u64; DEGREE];
        c.copy_from_slice(&words[..DEGREE]);
        Gr(c)
    }
    const PIECE_ROUNDS: u32 = 5;
    fn add_scaled(&mut self, other: &Self, v: u64) {
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a = a.wrapping_add(b.wrapping_mul(v));
        }
    }
    fn add_sum_scaled(&mut self, x: &Self, y: &Self, v: u64) {
        for ((a, b), c) in self.0.iter_mut().zip(&x.0).zip(&y.0) {
            *a = a.wrapping_add(b.wrapping_add(*c).wrapping_mul(v));
        }
    }
    /// The element, and where its coefficients are 1 if they all are 0 or 1 (a challenge):
    /// its products are then sums of shifted copies, without multiplications.
    type Times = (Gr, Option<Vec<usize>>);
    fn times(self) -> Self::Times {
        let bits = self.0.iter().all(|c| *c <= 1);
        (self, bits.then(|| (0..DEGREE).filter(|&i| self.0[i] == 1).collect()))
    }
    fn mul_times(self, by: &Self::Times) -> Self {
        self.mul(by.0)
    }
    /// The difference's shifted copies, summed and reduced, without a copy of either
    /// element (for a challenge; a full product otherwise).
    fn fold_line(&mut self, high: &Gr, by: &Self::Times) {
        let Some(shifts) = &by.1 else {
            *self = self.add(high.sub(*self).mul(by.0));
            return;
        };
        let mut d = [0u64; DEGREE];
        for ((d, h), l) in d.iter_mut().zip(&high.0).zip(&self.0) {
            *d = h.wrapping_sub(*l);
        }
        let mut wide = [0u64; 2 * DEGREE];
        for &shift in shifts {
            for (o, x) in wide[shift..shift + DEGREE].iter_mut().zip(&d) {
                *o = o.wrapping_add(*x);
            }
        }
        reduce_wide(&mut wide);
        for (s, w) in self.0.iter_mut().zip(&wide) {
            *s = s.wrapping_add(*w);
        }
    }
}

/// Reduces a product's `2 DEGREE - 1` coefficients modulo `f` in place (the low `DEGREE`
/// are the result): `X^(64 + i) = -X^i (X^4 + X^3 + X + 1)`. The top four land partly above
/// `X^63` and go first; the rest land below it, four shifted subtractions of one slice.
fn reduce_wide(wide: &mut [u64; 2 * DEGREE]) {
    let top = LOW_TERMS[LOW_TERMS.len() - 1];
    for i in (2 * DEGREE - top..2 * DEGREE).rev() {
        let t = wide[i];
        for k in LOW_TERMS {
            wide[i - DEGREE + k] = wide[i - DEGREE + k].wrapping_sub(t);
        }
    }
    let (low, high) = wide.split_at_mut(DEGREE);
    for k in LOW_TERMS {
        for (o, t) in low[k..DEGREE - top + k].iter_mut().zip(&high[..DEGREE - top]) {
            *o = o.wrapping_sub(*t);
        }
    }
}

/// Adds the product of the coefficient vectors `a` and `b` (of `b`'s few nonzero terms) to
/// `out`.
fn sparse_product(a: &[u64], b: &[u64], out: &mut [u64]) {
    for (k, bk) in b.iter().enumerate().filter(|(_, c)| **c != 0) {
        for (o, x) in out[k..k + a.len()].iter_mut().zip(a) {
            *o = o.wrapping_add(x.wrapping_mul(*bk));
        }
    }
}

/// Adds the product of the coefficient vectors `a` and `b` (whose coefficients are 0 or 1)
/// to `out`: a sum of shifted copies of `a`.
fn shifted_sum(a: &[u64], b: &[u64], out: &mut [u64]) {
    for (k, _) in b.iter().enumerate().filter(|(_, c)| **c == 1) {
        for (o, x) in out[k..k + a.len()].iter_mut().zip(a) {
            *o = o.wrapping_add(*x);
        }
    }
}

/// Adds the product of the polynomials `a` and `b` (equal power-of-two lengths) to `out`
/// (at least `2 len - 1` long): Karatsuba's three half-size products, down to 16 terms.
fn karatsuba(a: &[u64], b: &[u64], out: &mut [u64]) {
    let n = a.len();
    if n <= 16 {
        for (i, x) in a.iter().enumerate() {
            for (o, y) in out[i..i + n].iter_mut().zip(b) {
                *o = o.wrapping_add(x.wrapping_mul(*y));
            }
        }
        return;
    }
    let h = n / 2;
    let mut low = [0u64; DEGREE];
    let mut high = [0u64; DEGREE];
    let mut middle = [0u64; DEGREE];
    karatsuba(&a[..h], &b[..h], &mut low[..2 * h]);
    karatsuba(&a[h..], &b[h..], &mut high[..2 * h]);
    let mut sa = [0u64; DEGREE / 2];
    let mut sb = [0u64; DEGREE / 2];
    for i in 0..h {
        sa[i] = a[i].wrapping_add(a[h + i]);
        sb[i] = b[i].wrapping_add(b[h + i]);
    }
    karatsuba(&sa[..h], &sb[..h], &mut middle[..2 * h]);
    for i in 0..2 * h - 1 {
        let m = middle[i].wrapping_sub(low[i]).wrapping_sub(high[i]);
        out[i] = out[i].wrapping_add(low[i]);
        out[h + i] = out[h + i].wrapping_add(m);
        out[n + i] = out[n + i].wrapping_add(high[i]);
    }
}

/// The Lagrange weights of the nodes `0, 1, X`: `h(r) = w0 h(0) + w1 h(1) + wX h(X)` for
/// every `h` of degree at most 2. The denominators' inverses are computed once (a check
/// needs the weights at every round's challenge).
pub struct Lagrange<E> {
    inverses: [E; 3],
}

impl<E: Ext> Lagrange<E> {
    /// The inverses of the denominators.
    pub fn new() -> Self {
        let (one, x) = (E::one(), E::generator());
        // Denominators: (0 - 1)(0 - X) = X, (1 - 0)(1 - X) = 1 - X, (X - 0)(X - 1) = X^2 - X.
        Lagrange { inverses: [x.inverse(), one.sub(x).inverse(), x.mul(x).sub(x).inverse()] }
    }

    /// The weights at `r`.
    pub fn at(&self, r: E) -> [E; 3] {
        let (one, x) = (E::one(), E::generator());
        let [d0, d1, dx] = self.inverses;
        [r.sub(one).mul(r.sub(x)).mul(d0), r.mul(r.sub(x)).mul(d1), r.mul(r.sub(one)).mul(dx)]
    }
}

impl<E: Ext> Default for Lagrange<E> {
    fn default() -> Self {
        Lagrange::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha12Rng;

    fn laws<E: Ext>(sample: impl Fn(&mut ChaCha12Rng) -> E) {
        let mut rng = ChaCha12Rng::seed_from_u64(3);
        for _ in 0..50 {
            let (a, b, c) = (sample(&mut rng), sample(&mut rng), sample(&mut rng));
            assert_eq!(a.mul(b), b.mul(a));
            assert_eq!(a.mul(b).mul(c), a.mul(b.mul(c)));
            assert_eq!(a.mul(b.add(c)), a.mul(b).add(a.mul(c)));
            assert_eq!(a.mul(E::one()), a);
            assert_eq!(a.mul_generator(), a.mul(E::generator()));
            assert_eq!(a.add(b).sub(b), a);
            let unit = E::exceptional(&mut rng).sub(E::exceptional(&mut rng));
            if unit != E::zero() {
                assert_eq!(unit.mul(unit.inverse()), E::one(), "{unit:?}");
            }
        }
    }

    #[test]
    fn the_field_is_a_commutative_ring_with_inverses() {
        laws(|rng| Gf(rng.random()));
        laws(|rng| Gf(rng.random_range(0..4)));
        let mut rng = ChaCha12Rng::seed_from_u64(4);
        for small in 0..4u64 {
            let big = Gf(rng.random());
            assert_eq!(big.mul(Gf(small)), Gf::reduce(clmul(big.0, small)));
            assert_eq!(Gf(small).mul(big), Gf::reduce(clmul(big.0, small)));
        }
        // A known value: X^63 * X = X^64 = X^4 + X^3 + X + 1.
        assert_eq!(Gf(1 << 63).mul(Gf(2)), Gf(0b11011));
    }

    #[test]
    fn the_galois_ring_is_a_commutative_ring_with_inverses_of_units() {
        laws(|rng| Gr(std::array::from_fn(|_| rng.random())));
        // X^64 = -(X^4 + X^3 + X + 1).
        let mut top = Gr::zero();
        top.0[63] = 1;
        let mut expected = Gr::zero();
        for k in LOW_TERMS {
            expected.0[k] = u64::MAX;
        }
        assert_eq!(top.mul_generator(), expected);
        // The base ring embeds: constants multiply as in Z_2^64.
        assert_eq!(Gr::constant(u64::MAX).mul(Gr::constant(3)), Gr::constant(u64::MAX.wrapping_mul(3)));
        assert_eq!(Gr::constant(7).scale(9), Gr::constant(63));
    }

    #[test]
    fn karatsuba_the_sparse_and_the_shifted_paths_agree_with_the_schoolbook_product() {
        let mut rng = ChaCha12Rng::seed_from_u64(11);
        for sparse_terms in [1usize, 2, 4, 64] {
            let a: [u64; DEGREE] = std::array::from_fn(|_| rng.random());
            let mut b = [0u64; DEGREE];
            for _ in 0..sparse_terms {
                b[rng.random_range(0..DEGREE)] = rng.random();
            }
            let mut fast = [0u64; 2 * DEGREE];
            karatsuba(&a, &b, &mut fast);
            let mut sparse = [0u64; 2 * DEGREE];
            sparse_product(&a, &b, &mut sparse);
            let bits: [u64; DEGREE] = std::array::from_fn(|i| b[i] & 1);
            let mut shifted = [0u64; 2 * DEGREE];
            shifted_sum(&a, &bits, &mut shifted);
            let mut by_bits = [0u64; 2 * DEGREE];
            karatsuba(&a, &bits, &mut by_bits);
            assert_eq!(shifted, by_bits);
            let mut slow = [0u64; 2 * DEGREE];
            for i in 0..DEGREE {
                for j in 0..DEGREE {
                    slow[i + j] = slow[i + j].wrapping_add(a[i].wrapping_mul(b[j]));
                }
            }
            assert_eq!(fast, slow);
            assert_eq!(sparse, slow);
        }
    }

    #[test]
    fn field_products_agree_with_shift_and_add_modulo_f() {
        let mut rng = ChaCha12Rng::seed_from_u64(12);
        for _ in 0..2000 {
            let (a, b): (u64, u64) = (rng.random(), rng.random());
            // Schoolbook: a X^i reduced step by step, added where b has a 1.
            let (mut acc, mut shifted) = (0u64, a);
            for i in 0..64 {
                if (b >> i) & 1 == 1 {
                    acc ^= shifted;
                }
                let top = shifted >> 63;
                shifted = (shifted << 1) ^ (top * LOW_MASK);
            }
            assert_eq!(Gf(a).mul(Gf(b)), Gf(acc), "{a:x} * {b:x}");
        }
    }

    #[test]
    fn prepared_products_are_products() {
        let mut rng = ChaCha12Rng::seed_from_u64(13);
        for _ in 0..20 {
            let c = Gf(rng.random());
            let by = c.times();
            for _ in 0..100 {
                let x = Gf(rng.random());
                assert_eq!(x.mul_times(&by), x.mul(c));
            }
            let g = Gr::exceptional(&mut rng);
            let y = Gr(std::array::from_fn(|_| rng.random()));
            assert_eq!(y.mul_times(&g.times()), y.mul(g));
            let z = Gr(std::array::from_fn(|_| rng.random()));
            let mut folded = y;
            folded.fold_line(&z, &g.times());
            assert_eq!(folded, y.add(z.sub(y).mul(g)));
            let (mut low, high) = (Gf(rng.random()), Gf(rng.random()));
            let expected = low.add(high.sub(low).mul(c));
            low.fold_line(&high, &by);
            assert_eq!(low, expected);
        }
    }

    #[test]
    fn ring_challenges_have_sixteen_ones_anywhere_and_the_set_is_as_large_as_stated() {
        let mut rng = ChaCha12Rng::seed_from_u64(17);
        let (mut seen, mut first) = (0u64, [0usize; DEGREE]);
        let draws: Vec<u64> = (0..4000).map(|_| Gr::exceptional_bits(&mut rng)).collect();
        for &bits in &draws {
            assert_eq!(bits.count_ones() as usize, CHALLENGE_WEIGHT);
            seen |= bits;
            first[bits.trailing_zeros() as usize] += 1;
        }
        assert_eq!(seen, u64::MAX, "every coefficient can be 1");
        // The lowest one is at 0 with probability 16/64: about 1000 of 4000.
        assert!((850..1150).contains(&first[0]), "{}", first[0]);
        let mut distinct = draws.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), draws.len());
        let g = Gr::exceptional(&mut rng);
        assert_eq!(g.0.iter().filter(|c| **c == 1).count(), CHALLENGE_WEIGHT);
        assert!(g.0.iter().all(|c| *c <= 1));
        let size: f64 = (0..CHALLENGE_WEIGHT).map(|i| (DEGREE - i) as f64 / (i + 1) as f64).product();
        assert!(size.log2() >= RING_SET_BITS && size.log2() < RING_SET_BITS + 0.01, "{}", size.log2());
        assert_eq!(Gr::bits_scaled(0b101, 7), {
            let mut e = Gr::zero();
            e.0[0] = 7;
            e.0[2] = 7;
            e
        });
    }

    #[test]
    fn the_modulus_is_irreducible_over_gf2() {
        // Rabin: X^(2^64) = X mod f, and gcd(X^(2^32) - X, f) = 1 (64's only prime factor is 2).
        let mut x = Gf(2);
        for _ in 0..64 {
            x = x.mul(x);
        }
        assert_eq!(x, Gf(2));
        let mut y = Gf(2);
        for _ in 0..32 {
            y = y.mul(y);
        }
        // gcd over GF(2)[X] of f and g = y - X (degree < 64), by Euclid on bit masks.
        let (mut a, mut b): (u128, u128) = ((1u128 << 64) | LOW_MASK as u128, (y.0 ^ 2) as u128);
        while b != 0 {
            while a != 0 && 128 - a.leading_zeros() >= 128 - b.leading_zeros() {
                a ^= b << ((128 - a.leading_zeros()) - (128 - b.leading_zeros()));
            }
            std::mem::swap(&mut a, &mut b);
        }
        assert_eq!(a, 1, "f shares a factor with X^(2^32) - X");
    }

    fn interpolates<E: Ext>(sample: impl Fn(&mut ChaCha12Rng) -> E) {
        let mut rng = ChaCha12Rng::seed_from_u64(5);
        for _ in 0..10 {
            let (c0, c1, c2) = (sample(&mut rng), sample(&mut rng), sample(&mut rng));
            let h = |x: E| c0.add(c1.mul(x)).add(c2.mul(x).mul(x));
            let r = E::exceptional(&mut rng);
            let [w0, w1, wx] = Lagrange::new().at(r);
            let at = w0.mul(h(E::zero())).add(w1.mul(h(E::one()))).add(wx.mul(h(E::generator())));
            assert_eq!(at, h(r));
        }
    }

    #[test]
    fn lagrange_weights_interpolate_quadratics() {
        interpolates(|rng| Gf(rng.random()));
        interpolates(|rng| Gr(std::array::from_fn(|_| rng.random())));
    }
}
