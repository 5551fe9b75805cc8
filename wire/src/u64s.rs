//! A vector of ring elements carried as raw little-endian bytes (postcard would otherwise
//! spend up to ten bytes per uniformly random element on its variable-length integers).

use serde::de::{Error, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Ring elements, serialised as one byte string of `8 * len` bytes.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct U64s(pub Vec<u64>);

impl std::fmt::Debug for U64s {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<{} ring elements>", self.0.len())
    }
}

impl Serialize for U64s {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut bytes = Vec::with_capacity(self.0.len() * 8);
        for v in &self.0 {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        s.serialize_bytes(&bytes)
    }
}

impl<'de> Deserialize<'de> for U64s {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = U64s;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a byte string whose length is a multiple of 8")
            }
            fn visit_bytes<E: Error>(self, bytes: &[u8]) -> Result<U64s, E> {
                if !bytes.len().is_multiple_of(8) {
                    return Err(E::invalid_length(bytes.len(), &self));
                }
                Ok(U64s(
                    bytes
                        .chunks_exact(8)
                        .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
                        .collect(),
                ))
            }
            fn visit_byte_buf<E: Error>(self, bytes: Vec<u8>) -> Result<U64s, E> {
                self.visit_bytes(&bytes)
            }
        }
        d.deserialize_bytes(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answer_and_round_trip() {
        let v = U64s(vec![1, u64::MAX]);
        let bytes = postcard::to_stdvec(&v).unwrap();
        let mut expected = vec![16u8, 1, 0, 0, 0, 0, 0, 0, 0];
        expected.extend_from_slice(&[0xff; 8]);
        assert_eq!(bytes, expected);
        assert_eq!(postcard::from_bytes::<U64s>(&bytes).unwrap(), v);
        assert!(postcard::from_bytes::<U64s>(&[3, 1, 2, 3]).is_err());
    }
}
