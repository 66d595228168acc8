//! A short vector of `Copy` values, held inline (no allocation) up to `N` of them: a package's option picks,
//! a frontier point's utilities. Solving a small domain builds one per frontier point, so an allocation each
//! would be a large share of the time.

use std::fmt;
use std::ops::Deref;

use serde::{Serialize, Serializer};

/// Up to `N` values inline (`N` at most 255), more on the heap. Reads as a slice; compares, prints and
/// serialises as one.
#[derive(Clone)]
pub struct InlineVec<T, const N: usize>(Repr<T, N>);

#[derive(Clone)]
enum Repr<T, const N: usize> {
    Inline(u8, [T; N]),
    Heap(Box<[T]>),
}

impl<T: Copy + Default, const N: usize> InlineVec<T, N> {
    /// The values of a slice.
    pub fn from_slice(values: &[T]) -> Self {
        values.iter().copied().collect()
    }
}

impl<T: Copy + Default, const N: usize> FromIterator<T> for InlineVec<T, N> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut it = iter.into_iter();
        let mut buf = [T::default(); N];
        let mut n = 0;
        for x in it.by_ref() {
            if n == N {
                // More than fit inline: move to the heap.
                let mut v: Vec<T> = Vec::with_capacity(N + 1 + it.size_hint().0);
                v.extend_from_slice(&buf);
                v.push(x);
                v.extend(it);
                return InlineVec(Repr::Heap(v.into_boxed_slice()));
            }
            buf[n] = x;
            n += 1;
        }
        // n <= N <= 255.
        #[allow(clippy::cast_possible_truncation)]
        InlineVec(Repr::Inline(n as u8, buf))
    }
}

impl<T: Copy + Default, const N: usize> From<Vec<T>> for InlineVec<T, N> {
    fn from(v: Vec<T>) -> Self {
        if v.len() <= N {
            Self::from_slice(&v)
        } else {
            InlineVec(Repr::Heap(v.into_boxed_slice()))
        }
    }
}

impl<T: Copy + Default, const N: usize> Default for InlineVec<T, N> {
    fn default() -> Self {
        InlineVec(Repr::Inline(0, [T::default(); N]))
    }
}

impl<T, const N: usize> Deref for InlineVec<T, N> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        match &self.0 {
            Repr::Inline(n, v) => &v[..*n as usize],
            Repr::Heap(v) => v,
        }
    }
}

impl<T: PartialEq, const N: usize> PartialEq for InlineVec<T, N> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl<T: PartialEq, const N: usize> PartialEq<[T]> for InlineVec<T, N> {
    fn eq(&self, other: &[T]) -> bool {
        **self == *other
    }
}

impl<T: fmt::Debug, const N: usize> fmt::Debug for InlineVec<T, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<T: Serialize, const N: usize> Serialize for InlineVec<T, N> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl<'a, T, const N: usize> IntoIterator for &'a InlineVec<T, N> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_and_heap_read_the_same() {
        for n in 0..10 {
            let values: Vec<u32> = (0..n).collect();
            let v: InlineVec<u32, 4> = values.iter().copied().collect();
            assert_eq!(&*v, values.as_slice());
            assert_eq!(InlineVec::<u32, 4>::from(values.clone()), v);
            assert_eq!(format!("{v:?}"), format!("{values:?}"));
            assert_eq!(
                serde_json::to_string(&v).ok(),
                serde_json::to_string(&values).ok()
            );
        }
    }
}
