//! Replicated additive secret sharing over `Z_2^64`, the layout of the honest-majority model.
//!
//! A secret `x` is the sum of components `x = sum_T x_T (mod 2^64)`, one component for every
//! set `T` of `t` parties, where `t = floor((n - 1) / 2)` is the number of parties that may
//! collude. Component `x_T` is held by the `n - t` parties *outside* `T` (the "CNF" or
//! replicated secret sharing of Ito, Saito and Nishizeki, used in its 3-party form by Araki et
//! al., CCS 2016). Any `t` parties together miss the component indexed by their own set, so
//! they learn nothing; any `t + 1` parties hold every component, so a party that lost its
//! disk can be rebuilt from the others, and an opening can check the redundant copies.
//!
//! For `n = 3` (`t = 1`) there are three components and each party holds two of them.

mod layout;
mod open;
mod split;

pub use layout::{Layout, LayoutError};
pub use open::{OpenError, reconstruct};
pub use split::{split_columns, split_values};

use serde::{Deserialize, Serialize};

/// One additive component of a vector of secrets: the values of component `id` of the layout.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Component {
    /// Index of the component in its [`Layout`].
    pub id: u16,
    /// The component's value for each secret.
    pub values: Vec<u64>,
}

impl std::fmt::Debug for Component {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Component {{ id: {}, values: <{} redacted> }}", self.id, self.values.len())
    }
}
