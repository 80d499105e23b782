//! Exact arithmetic on [`codec::Decimal`], which only parses, prints,
//! compares and rescales.
//!
//! A value is unpacked into a sign, an integer magnitude and a scale
//! (`magnitude / 10^scale`), computed on exactly, and packed back. The
//! magnitude is a fixed 512-bit integer: a DECIMAL has at most 65 digits
//! (< 2^216), so products of two (< 2^432) and dividends scaled up for
//! division (< 10^130) fit without a heap allocation.

use codec::Decimal;
use std::cmp::Ordering;
use std::str::FromStr;

/// Most digits a DECIMAL may hold.
pub(crate) const MAX_PRECISION: u32 = 65;
/// Most digits after the point.
pub(crate) const MAX_SCALE: u32 = 30;

const LIMBS: usize = 8;

/// An unsigned 512-bit integer, little-endian limbs.
#[derive(Clone, Copy, PartialEq, Eq)]
struct U512([u64; LIMBS]);

impl U512 {
    const ZERO: U512 = U512([0; LIMBS]);

    fn from_u128(v: u128) -> Self {
        let mut limbs = [0; LIMBS];
        limbs[0] = v as u64;
        limbs[1] = (v >> 64) as u64;
        U512(limbs)
    }

    fn is_zero(&self) -> bool {
        self.0.iter().all(|&l| l == 0)
    }

    fn to_u128(self) -> Option<u128> {
        if self.0[2..].iter().any(|&l| l != 0) {
            return None;
        }
        Some(self.0[0] as u128 | (self.0[1] as u128) << 64)
    }

    fn add(&self, other: &Self) -> Option<Self> {
        let mut out = [0; LIMBS];
        let mut carry = 0u128;
        for (i, slot) in out.iter_mut().enumerate() {
            let sum = self.0[i] as u128 + other.0[i] as u128 + carry;
            *slot = sum as u64;
            carry = sum >> 64;
        }
        (carry == 0).then_some(U512(out))
    }

    /// `self - other`; the caller guarantees `self >= other`.
    fn sub(&self, other: &Self) -> Self {
        let mut out = [0; LIMBS];
        let mut borrow = false;
        for (i, slot) in out.iter_mut().enumerate() {
            let (d, b1) = self.0[i].overflowing_sub(other.0[i]);
            let (d, b2) = d.overflowing_sub(borrow as u64);
            *slot = d;
            borrow = b1 || b2;
        }
        U512(out)
    }

    fn mul_small(&self, m: u64) -> Option<Self> {
        let mut out = [0; LIMBS];
        let mut carry = 0u128;
        for (i, slot) in out.iter_mut().enumerate() {
            let p = self.0[i] as u128 * m as u128 + carry;
            *slot = p as u64;
            carry = p >> 64;
        }
        (carry == 0).then_some(U512(out))
    }

    fn mul(&self, other: &Self) -> Option<Self> {
        let mut wide = [0u64; 2 * LIMBS];
        for i in 0..LIMBS {
            if self.0[i] == 0 {
                continue;
            }
            let mut carry = 0u128;
            for j in 0..LIMBS {
                let cur = wide[i + j] as u128 + self.0[i] as u128 * other.0[j] as u128 + carry;
                wide[i + j] = cur as u64;
                carry = cur >> 64;
            }
            wide[i + LIMBS] = carry as u64;
        }
        if wide[LIMBS..].iter().any(|&l| l != 0) {
            return None;
        }
        let mut out = [0; LIMBS];
        out.copy_from_slice(&wide[..LIMBS]);
        Some(U512(out))
    }

    fn divrem_small(&self, d: u64) -> (Self, u64) {
        let mut out = [0; LIMBS];
        let mut rem = 0u128;
        for i in (0..LIMBS).rev() {
            let cur = rem << 64 | self.0[i] as u128;
            out[i] = (cur / d as u128) as u64;
            rem = cur % d as u128;
        }
        (U512(out), rem as u64)
    }

    fn bit(&self, i: usize) -> bool {
        self.0[i / 64] >> (i % 64) & 1 == 1
    }

    fn bits(&self) -> usize {
        (0..LIMBS)
            .rev()
            .find(|&i| self.0[i] != 0)
            .map_or(0, |i| i * 64 + 64 - self.0[i].leading_zeros() as usize)
    }

    fn shl1_or(&self, low: bool) -> Self {
        let mut out = [0; LIMBS];
        let mut carry = low as u64;
        for (i, slot) in out.iter_mut().enumerate() {
            *slot = self.0[i] << 1 | carry;
            carry = self.0[i] >> 63;
        }
        U512(out)
    }

    /// Quotient and remainder; `d` must not be zero.
    fn divrem(&self, d: &Self) -> (Self, Self) {
        if let (Some(a), Some(b)) = (self.to_u128(), d.to_u128()) {
            return (U512::from_u128(a / b), U512::from_u128(a % b));
        }
        let mut q = U512::ZERO;
        let mut r = U512::ZERO;
        for i in (0..self.bits()).rev() {
            r = r.shl1_or(self.bit(i));
            if r >= *d {
                r = r.sub(d);
                q.0[i / 64] |= 1 << (i % 64);
            }
        }
        (q, r)
    }

    fn pow10(n: u32) -> Option<Self> {
        let mut v = U512::from_u128(1);
        let mut left = n;
        while left > 0 {
            let step = left.min(19);
            v = v.mul_small(10u64.pow(step))?;
            left -= step;
        }
        Some(v)
    }

    /// Decimal digits, most significant first ("0" for zero).
    fn to_digits(self) -> Vec<u8> {
        if self.is_zero() {
            return vec![b'0'];
        }
        let mut chunks = Vec::new();
        let mut v = self;
        while !v.is_zero() {
            let (q, r) = v.divrem_small(10_000_000_000_000_000_000);
            chunks.push(r);
            v = q;
        }
        let mut out = chunks.pop().map(|c| c.to_string()).unwrap_or_default();
        for c in chunks.iter().rev() {
            out.push_str(&format!("{c:019}"));
        }
        out.into_bytes()
    }

    /// Parses ASCII digits; `None` when they do not fit.
    fn from_digits(digits: &[u8]) -> Option<Self> {
        let mut v = U512::ZERO;
        for chunk in digits.chunks(19) {
            let n = chunk.iter().fold(0u64, |n, c| n * 10 + (c - b'0') as u64);
            v = v
                .mul_small(10u64.pow(chunk.len() as u32))?
                .add(&U512::from_u128(n as u128))?;
        }
        Some(v)
    }
}

impl PartialOrd for U512 {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for U512 {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.iter().rev().cmp(other.0.iter().rev())
    }
}

/// How to drop digits.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Rounding {
    /// Half away from zero, as MySQL rounds exact values.
    HalfUp,
    /// Toward zero (TRUNCATE, integer division).
    Truncate,
    /// Toward +infinity (CEILING).
    Ceiling,
    /// Toward -infinity (FLOOR).
    Floor,
}

/// `±mag / 10^scale`, unbounded by DECIMAL's limits while computing.
#[derive(Clone, Copy)]
struct Exact {
    neg: bool,
    mag: U512,
    scale: u32,
}

impl Exact {
    fn of(d: &Decimal) -> Self {
        let text = d.to_string();
        let (neg, body) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.as_str()),
        };
        let digits: Vec<u8> = body.bytes().filter(u8::is_ascii_digit).collect();
        // At most 65 digits: always fits.
        let mag = U512::from_digits(&digits).unwrap_or(U512::ZERO);
        Exact {
            neg,
            mag,
            scale: d.scale() as u32,
        }
    }

    /// Both magnitudes at the larger scale.
    fn aligned(a: Exact, b: Exact) -> Option<(U512, U512, u32)> {
        let scale = a.scale.max(b.scale);
        let am = a.mag.mul(&U512::pow10(scale - a.scale)?)?;
        let bm = b.mag.mul(&U512::pow10(scale - b.scale)?)?;
        Some((am, bm, scale))
    }

    /// Drops digits so `scale` becomes `to` (when smaller).
    fn round_to(self, to: u32, mode: Rounding) -> Option<Exact> {
        if to >= self.scale {
            return Some(self);
        }
        let unit = U512::pow10(self.scale - to)?;
        let (mut q, r) = self.mag.divrem(&unit);
        let up = match mode {
            Rounding::HalfUp => r.mul_small(2)? >= unit,
            Rounding::Truncate => false,
            Rounding::Ceiling => !self.neg && !r.is_zero(),
            Rounding::Floor => self.neg && !r.is_zero(),
        };
        if up {
            q = q.add(&U512::from_u128(1))?;
        }
        Some(Exact {
            neg: self.neg,
            mag: q,
            scale: to,
        })
    }

    /// Back to a [`Decimal`]: at most 30 fraction digits (rounded), fewer if
    /// the integer part leaves no room in 65 digits; `None` when the integer
    /// part alone is too long.
    fn pack(self) -> Option<Decimal> {
        let mut v = self.round_to(MAX_SCALE, Rounding::HalfUp)?;
        let digits = loop {
            let digits = v.mag.to_digits();
            let int_digits = (digits.len() as u32).saturating_sub(v.scale);
            if int_digits > MAX_PRECISION {
                return None;
            }
            let room = MAX_PRECISION - int_digits;
            if v.scale <= room {
                break digits;
            }
            // Rounding may carry into a new integer digit: check again.
            v = v.round_to(room, Rounding::HalfUp)?;
        };
        let mut text = String::with_capacity(digits.len() + 3);
        if v.neg {
            text.push('-');
        }
        let scale = v.scale as usize;
        if digits.len() <= scale {
            text.push_str("0.");
            text.extend(std::iter::repeat_n('0', scale - digits.len()));
            text.extend(digits.iter().map(|&c| c as char));
        } else {
            let (int, frac) = digits.split_at(digits.len() - scale);
            text.extend(int.iter().map(|&c| c as char));
            if scale > 0 {
                text.push('.');
                text.extend(frac.iter().map(|&c| c as char));
            }
        }
        Decimal::from_str(&text).ok()
    }
}

/// Zero with no fraction digits.
pub(crate) fn zero() -> Decimal {
    from_i128(0)
}

/// An integer as a decimal.
pub(crate) fn from_i128(v: i128) -> Decimal {
    let e = Exact {
        neg: v < 0,
        mag: U512::from_u128(v.unsigned_abs()),
        scale: 0,
    };
    // At most 39 digits: always fits.
    e.pack()
        .unwrap_or_else(|| unreachable!("an i128 fits in 65 digits"))
}

/// Whether `d` is zero (at any scale).
pub(crate) fn is_zero(d: &Decimal) -> bool {
    Exact::of(d).mag.is_zero()
}

/// Whether `d` is below zero.
pub(crate) fn is_negative(d: &Decimal) -> bool {
    Exact::of(d).neg
}

/// `-d`.
pub(crate) fn neg(d: &Decimal) -> Decimal {
    let e = Exact::of(d);
    Exact {
        neg: !e.neg && !e.mag.is_zero(),
        ..e
    }
    .pack()
    .unwrap_or(*d)
}

/// `|d|`.
pub(crate) fn abs(d: &Decimal) -> Decimal {
    Exact {
        neg: false,
        ..Exact::of(d)
    }
    .pack()
    .unwrap_or(*d)
}

fn add_exact(a: Exact, b: Exact) -> Option<Exact> {
    let (am, bm, scale) = Exact::aligned(a, b)?;
    if a.neg == b.neg {
        return Some(Exact {
            neg: a.neg,
            mag: am.add(&bm)?,
            scale,
        });
    }
    Some(if am >= bm {
        Exact {
            neg: a.neg,
            mag: am.sub(&bm),
            scale,
        }
    } else {
        Exact {
            neg: b.neg,
            mag: bm.sub(&am),
            scale,
        }
    })
}

/// `a + b` at the larger scale; `None` on overflow.
pub(crate) fn add(a: &Decimal, b: &Decimal) -> Option<Decimal> {
    add_exact(Exact::of(a), Exact::of(b))?.pack()
}

/// `a - b` at the larger scale; `None` on overflow.
pub(crate) fn sub(a: &Decimal, b: &Decimal) -> Option<Decimal> {
    let b = Exact::of(b);
    add_exact(Exact::of(a), Exact { neg: !b.neg, ..b })?.pack()
}

/// `a * b` with the sum of the scales (at most 30, rounded); `None` on
/// overflow.
pub(crate) fn mul(a: &Decimal, b: &Decimal) -> Option<Decimal> {
    let (a, b) = (Exact::of(a), Exact::of(b));
    Exact {
        neg: a.neg != b.neg,
        mag: a.mag.mul(&b.mag)?,
        scale: a.scale + b.scale,
    }
    .pack()
}

/// `a / b` with `scale` fraction digits, the rest cut off; `None` when `b`
/// is zero or the quotient overflows.
pub(crate) fn div(a: &Decimal, b: &Decimal, scale: u32) -> Option<Decimal> {
    let (a, b) = (Exact::of(a), Exact::of(b));
    if b.mag.is_zero() {
        return None;
    }
    // a.mag / 10^sa ÷ b.mag / 10^sb = a.mag * 10^(scale + sb - sa) / b.mag / 10^scale.
    let scale = scale.min(MAX_SCALE);
    let shift = (scale + b.scale) as i64 - a.scale as i64;
    let (num, den) = if shift >= 0 {
        (a.mag.mul(&U512::pow10(shift as u32)?)?, b.mag)
    } else {
        (a.mag, b.mag.mul(&U512::pow10((-shift) as u32)?)?)
    };
    let (q, _) = num.divrem(&den);
    Exact {
        neg: a.neg != b.neg,
        mag: q,
        scale,
    }
    .pack()
}

/// `a MOD b`: the sign of `a`, at the larger scale; `None` when `b` is zero.
pub(crate) fn rem(a: &Decimal, b: &Decimal) -> Option<Decimal> {
    let (ea, eb) = (Exact::of(a), Exact::of(b));
    if eb.mag.is_zero() {
        return None;
    }
    let (am, bm, scale) = Exact::aligned(ea, eb)?;
    let (_, r) = am.divrem(&bm);
    Exact {
        neg: ea.neg,
        mag: r,
        scale,
    }
    .pack()
}

/// `d` with `frac` fraction digits (negative: rounds to tens, hundreds...),
/// padding with zeros when `frac` is larger than the scale. The result keeps
/// `max(frac, 0)` fraction digits, at most 30.
pub(crate) fn round(d: &Decimal, frac: i64, mode: Rounding) -> Option<Decimal> {
    let e = Exact::of(d);
    let frac = frac.clamp(-(MAX_PRECISION as i64) - 1, MAX_SCALE as i64);
    if frac >= 0 {
        let frac = frac as u32;
        let r = e.round_to(frac, mode)?;
        let pad = U512::pow10(frac - r.scale)?;
        return Exact {
            mag: r.mag.mul(&pad)?,
            scale: frac,
            ..r
        }
        .pack();
    }
    let up = (-frac) as u32;
    let units = Exact {
        scale: e.scale + up,
        ..e
    }
    .round_to(0, mode)?;
    Exact {
        neg: e.neg,
        mag: units.mag.mul(&U512::pow10(up)?)?,
        scale: 0,
    }
    .pack()
}

/// Digits before the point (0 for values below one).
pub(crate) fn int_digits(d: &Decimal) -> u32 {
    let e = Exact::of(d);
    let total = if e.mag.is_zero() {
        0
    } else {
        e.mag.to_digits().len() as u32
    };
    total.saturating_sub(e.scale)
}

/// The value as a double (nearest).
pub(crate) fn to_f64(d: &Decimal) -> f64 {
    d.to_string().parse().unwrap_or(0.0)
}

/// `d` rounded to an integer by `mode`; `None` beyond ±2^127.
pub(crate) fn to_i128(d: &Decimal, mode: Rounding) -> Option<i128> {
    let r = Exact::of(d).round_to(0, mode)?;
    let m = r.mag.to_u128()?;
    let v = i128::try_from(m).ok()?;
    Some(if r.neg { -v } else { v })
}

/// Builds `±0.digits × 10^exp`... precisely: the integer `digits` (ASCII)
/// times `10^exp`, rounded half up to at most 30 fraction digits; `None` when
/// it does not fit in 65 digits.
pub(crate) fn from_parts(neg: bool, digits: &[u8], exp: i64) -> Option<Decimal> {
    let digits = &digits[digits
        .iter()
        .position(|&c| c != b'0')
        .unwrap_or(digits.len())..];
    if digits.is_empty() {
        return Some(zero());
    }
    let magnitude_exp = (digits.len() as i64).saturating_add(exp);
    if magnitude_exp > MAX_PRECISION as i64 {
        return None;
    }
    if magnitude_exp < -(MAX_SCALE as i64) - 1 {
        return Some(zero());
    }
    // Keep only the digits that can matter: 65 + one for rounding.
    let keep = digits.len().min((MAX_PRECISION + MAX_SCALE + 2) as usize);
    let exp = exp.saturating_add((digits.len() - keep) as i64);
    let mag = U512::from_digits(&digits[..keep])?;
    let e = if exp >= 0 {
        Exact {
            neg,
            mag: mag.mul(&U512::pow10(exp as u32)?)?,
            scale: 0,
        }
    } else {
        Exact {
            neg,
            mag,
            scale: (-exp) as u32,
        }
    };
    e.pack()
}

/// The decimal nearest to `v` (by its shortest round-trip digits), as MySQL
/// converts a double; `None` for infinities, NaN or more than 65 digits.
pub(crate) fn from_f64(v: f64) -> Option<Decimal> {
    if !v.is_finite() {
        return None;
    }
    let text = format!("{:e}", v.abs());
    let (mantissa, exp) = text.split_once('e')?;
    let exp: i64 = exp.parse().ok()?;
    let frac_len = mantissa.split_once('.').map_or(0, |(_, f)| f.len()) as i64;
    let digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    from_parts(v < 0.0, &digits, exp - frac_len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn s(v: Option<Decimal>) -> String {
        v.map_or("overflow".into(), |v| v.to_string())
    }

    #[test]
    fn add_sub_mul_are_exact() {
        assert_eq!(s(add(&d("1.5"), &d("2.25"))), "3.75");
        assert_eq!(s(add(&d("-1.5"), &d("1.50"))), "0.00");
        assert_eq!(s(sub(&d("3"), &d("1.50"))), "1.50");
        assert_eq!(s(sub(&d("-3"), &d("-5"))), "2");
        assert_eq!(s(mul(&d("1.5"), &d("1.25"))), "1.875");
        assert_eq!(s(mul(&d("-2"), &d("0.5"))), "-1.0");
        let big = "9".repeat(65);
        assert_eq!(s(add(&d(&big), &d("1"))), "overflow");
        assert_eq!(s(mul(&d(&big), &d("10"))), "overflow");
        assert_eq!(s(mul(&d(&big), &d(&big))), "overflow");
        assert_eq!(
            s(mul(
                &d("0.123456789012345678901234567890"),
                &d("0.123456789012345678901234567890")
            )),
            "0.015241578753238836750495351563"
        );
        // Integer digits squeeze the fraction out of the 65 available.
        let wide = format!("{}.5", "1".repeat(64));
        assert_eq!(s(add(&d(&wide), &d("0"))), format!("{}.5", "1".repeat(64)));
        assert_eq!(
            s(add(&d(&wide), &d("0.05"))),
            format!("{}.6", "1".repeat(64))
        );
    }

    #[test]
    fn division_cuts_at_the_requested_scale() {
        assert_eq!(s(div(&d("1"), &d("3"), 9)), "0.333333333");
        assert_eq!(s(div(&d("2"), &d("3"), 9)), "0.666666666");
        assert_eq!(s(div(&d("-10"), &d("4"), 4)), "-2.5000");
        assert_eq!(
            s(div(&d("1"), &d("7.000000000000000000000000000001"), 9)),
            "0.142857142"
        );
        assert_eq!(s(div(&d("1"), &d("0"), 4)), "overflow");
        assert_eq!(s(div(&d("1.00000"), &d("0.001"), 0)), "1000");
        assert_eq!(s(rem(&d("7.5"), &d("2"))), "1.5");
        assert_eq!(s(rem(&d("-7.5"), &d("2"))), "-1.5");
        assert_eq!(s(rem(&d("7"), &d("-3"))), "1");
        assert_eq!(rem(&d("7"), &d("0.0")), None);
    }

    #[test]
    fn rounding_modes() {
        let r = |v: &str, f: i64, m: Rounding| s(round(&d(v), f, m));
        assert_eq!(r("1.298", 1, Rounding::HalfUp), "1.3");
        assert_eq!(r("2.5", 0, Rounding::HalfUp), "3");
        assert_eq!(r("-2.5", 0, Rounding::HalfUp), "-3");
        assert_eq!(r("2.675", 2, Rounding::HalfUp), "2.68");
        assert_eq!(r("23.298", -1, Rounding::HalfUp), "20");
        assert_eq!(r("125", -1, Rounding::HalfUp), "130");
        assert_eq!(r("-125", -1, Rounding::HalfUp), "-130");
        assert_eq!(r("999", -3, Rounding::HalfUp), "1000");
        assert_eq!(r("499", -3, Rounding::HalfUp), "0");
        assert_eq!(r("1.5", 3, Rounding::HalfUp), "1.500");
        assert_eq!(r("-1.999", 1, Rounding::Truncate), "-1.9");
        assert_eq!(r("122", -2, Rounding::Truncate), "100");
        assert_eq!(r("1.23", 0, Rounding::Ceiling), "2");
        assert_eq!(r("-1.23", 0, Rounding::Ceiling), "-1");
        assert_eq!(r("-1.23", 0, Rounding::Floor), "-2");
        assert_eq!(r("-0.4", 0, Rounding::HalfUp), "0");
        assert_eq!(r("5", -70, Rounding::HalfUp), "0");
    }

    #[test]
    fn conversions() {
        assert_eq!(from_i128(-42).to_string(), "-42");
        assert_eq!(s(from_f64(0.1)), "0.1");
        assert_eq!(s(from_f64(-1.5e-7)), "-0.00000015");
        assert_eq!(s(from_f64(1e20)), "100000000000000000000");
        assert_eq!(s(from_f64(1e70)), "overflow");
        assert_eq!(s(from_f64(f64::NAN)), "overflow");
        assert_eq!(s(from_f64(1e-40)), "0");
        assert_eq!(s(from_parts(false, b"15", -1)), "1.5");
        assert_eq!(s(from_parts(true, b"00123", 2)), "-12300");
        assert_eq!(to_i128(&d("-2.5"), Rounding::HalfUp), Some(-3));
        assert_eq!(to_i128(&d("2.5"), Rounding::Truncate), Some(2));
        assert_eq!(int_digits(&d("123.45")), 3);
        assert_eq!(int_digits(&d("0.45")), 0);
        assert!(is_zero(&d("-0.000")));
        assert!(is_negative(&d("-0.1")));
        assert_eq!(neg(&d("1.50")).to_string(), "-1.50");
        assert_eq!(neg(&d("0")).to_string(), "0");
        assert_eq!(abs(&d("-2.0")).to_string(), "2.0");
        assert_eq!(to_f64(&d("-2.25")), -2.25);
    }
}
