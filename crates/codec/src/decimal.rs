//! Exact decimals for MySQL `DECIMAL(65,30)`, and their memcomparable form.
//!
//! A [`Decimal`] is a sign and up to 65 decimal digits of which the last
//! `scale` (at most 30) follow the point. It keeps the scale it was given, so
//! `1.50` prints as `1.50`, but it compares by value: `1.50 == 1.5`.
//!
//! **Key form encodes the value only.** Numerically equal decimals get the same
//! key whatever their scale, so a unique index sees `1.5` and `1.50` as a
//! conflict and a lookup need not know the column's scale. The price: the key
//! decoder returns the shortest scale (`1.5`), and whoever needs the column's
//! display scale applies [`Decimal::rescale`]. Rows store the scale, so values
//! read from rows print as written.
//!
//! The key form is a sign byte (`NEGATIVE < ZERO < POSITIVE`), then for
//! non-zero values an exponent byte `E` (the value is `0.d1d2… × 10^E` with
//! `d1 ≠ 0`), then the significant digits in pairs as bytes `1..=100`, then a
//! `0` terminator, which sorts below any pair so `0.12 < 0.123`. Negatives
//! complement every byte after the sign, turning larger magnitudes into
//! smaller keys.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use crate::{Error, Result};

/// Most digits a value may have (MySQL's `DECIMAL` precision limit).
pub const MAX_PRECISION: usize = 65;
/// Most digits after the point (MySQL's `DECIMAL` scale limit).
pub const MAX_SCALE: u8 = 30;

const NEGATIVE: u8 = 0x01;
const ZERO: u8 = 0x02;
const POSITIVE: u8 = 0x03;
const EXP_BIAS: i32 = 128;
const TERMINATOR: u8 = 0;
/// Significant digits a key may carry: the precision, rounded up to pairs.
const MAX_PAIR_DIGITS: usize = MAX_PRECISION + 1;

/// An exact decimal; fixed-size so values are `Copy` and never allocate.
#[derive(Clone, Copy)]
pub struct Decimal {
    // Invariants: `scale <= len <= MAX_PRECISION`, `scale <= MAX_SCALE`, every
    // digit 0..=9, the integer part (`digits[..len - scale]`) has no leading
    // zero, and zero is never negative.
    negative: bool,
    scale: u8,
    len: u8,
    digits: [u8; MAX_PRECISION],
}

impl Decimal {
    const ZERO: Decimal = Decimal {
        negative: false,
        scale: 0,
        len: 0,
        digits: [0; MAX_PRECISION],
    };

    /// Build from digit values (not ASCII), establishing the invariants.
    fn from_digits(negative: bool, int: &[u8], frac: &[u8]) -> Result<Self> {
        let int = &int[int.iter().position(|&d| d != 0).unwrap_or(int.len())..];
        let len = int.len() + frac.len();
        if frac.len() > MAX_SCALE as usize {
            return Err(Error::Invalid("decimal scale"));
        }
        if len > MAX_PRECISION {
            return Err(Error::Invalid("decimal precision"));
        }
        let mut d = Decimal {
            scale: frac.len() as u8,
            len: len as u8,
            ..Self::ZERO
        };
        d.digits[..int.len()].copy_from_slice(int);
        d.digits[int.len()..len].copy_from_slice(frac);
        d.negative = negative && !d.is_zero();
        Ok(d)
    }

    /// Digits after the point, as given; the column's scale for values read
    /// from rows.
    pub fn scale(&self) -> u8 {
        self.scale
    }

    /// The same value with `scale` fraction digits: pads with zeros, or drops
    /// trailing zeros. Fails rather than round when that would lose a digit,
    /// because rounding is a SQL decision, not an encoding one.
    pub fn rescale(&self, scale: u8) -> Result<Self> {
        if scale > MAX_SCALE {
            return Err(Error::Invalid("decimal scale"));
        }
        let frac = self.frac_digits();
        let keep = frac.len().min(scale as usize);
        if frac[keep..].iter().any(|&d| d != 0) {
            return Err(Error::Invalid("decimal rescale drops digits"));
        }
        let mut padded = [0; MAX_SCALE as usize];
        padded[..keep].copy_from_slice(&frac[..keep]);
        Self::from_digits(self.negative, self.int_digits(), &padded[..scale as usize])
    }

    fn int_digits(&self) -> &[u8] {
        &self.digits[..(self.len - self.scale) as usize]
    }

    fn frac_digits(&self) -> &[u8] {
        &self.digits[(self.len - self.scale) as usize..self.len as usize]
    }

    /// The fraction without trailing zeros: what the value depends on.
    fn trimmed_frac(&self) -> &[u8] {
        let frac = self.frac_digits();
        &frac[..frac.iter().rposition(|&d| d != 0).map_or(0, |i| i + 1)]
    }

    fn is_zero(&self) -> bool {
        self.digits[..self.len as usize].iter().all(|&d| d == 0)
    }

    fn cmp_magnitude(&self, other: &Self) -> Ordering {
        let (a, b) = (self.int_digits(), other.int_digits());
        a.len()
            .cmp(&b.len())
            .then_with(|| a.cmp(b))
            .then_with(|| self.trimmed_frac().cmp(other.trimmed_frac()))
    }
}

impl FromStr for Decimal {
    type Err = Error;

    /// Parses `[+-]digits[.digits]` (either side of the point may be empty,
    /// not both). Too many digits is an error, not a rounding.
    fn from_str(s: &str) -> Result<Self> {
        let s = s.as_bytes();
        let (negative, s) = match s.split_first() {
            Some((b'-', rest)) => (true, rest),
            Some((b'+', rest)) => (false, rest),
            _ => (false, s),
        };
        let (int, frac) = match s.iter().position(|&c| c == b'.') {
            Some(dot) => (&s[..dot], &s[dot + 1..]),
            None => (s, &s[s.len()..]),
        };
        if (int.is_empty() && frac.is_empty()) || !int.iter().chain(frac).all(u8::is_ascii_digit) {
            return Err(Error::Invalid("decimal syntax"));
        }
        let int = &int[int.iter().position(|&c| c != b'0').unwrap_or(int.len())..];
        if frac.len() > MAX_SCALE as usize || int.len() + frac.len() > MAX_PRECISION {
            return Err(Error::Invalid("decimal precision"));
        }
        let mut values = [0; MAX_PRECISION];
        for (v, c) in values.iter_mut().zip(int.iter().chain(frac)) {
            *v = c - b'0';
        }
        Self::from_digits(
            negative,
            &values[..int.len()],
            &values[int.len()..int.len() + frac.len()],
        )
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = [0u8; MAX_PRECISION + 3];
        let mut n = 0;
        let mut push = |c: u8| {
            out[n] = c;
            n += 1;
        };
        if self.negative {
            push(b'-');
        }
        if self.int_digits().is_empty() {
            push(b'0');
        }
        self.int_digits().iter().for_each(|d| push(b'0' + d));
        if self.scale > 0 {
            push(b'.');
            self.frac_digits().iter().for_each(|d| push(b'0' + d));
        }
        f.pad(std::str::from_utf8(&out[..n]).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Decimal({self})")
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self.negative, other.negative) {
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (false, false) => self.cmp_magnitude(other),
            (true, true) => other.cmp_magnitude(self),
        }
    }
}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Decimal {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Decimal {}

impl Hash for Decimal {
    /// Hashes the value, not the scale, to agree with `Eq` (`1.5 == 1.50`).
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.negative.hash(state);
        self.int_digits().hash(state);
        self.trimmed_frac().hash(state);
    }
}

/// Append the memcomparable form of `d`'s value (its scale is not kept; see
/// the module notes).
pub fn encode_decimal(buf: &mut Vec<u8>, d: &Decimal) {
    let all = &d.digits[..d.len as usize];
    let (Some(first), Some(last)) = (
        all.iter().position(|&x| x != 0),
        all.iter().rposition(|&x| x != 0),
    ) else {
        buf.push(ZERO);
        return;
    };
    let flip = if d.negative { 0xFF } else { 0 };
    let exp = (d.len - d.scale) as i32 - first as i32;
    buf.push(if d.negative { NEGATIVE } else { POSITIVE });
    buf.push((exp + EXP_BIAS) as u8 ^ flip);
    for pair in all[first..=last].chunks(2) {
        let v = pair[0] * 10 + pair.get(1).copied().unwrap_or(0);
        buf.push((v + 1) ^ flip);
    }
    buf.push(TERMINATOR ^ flip);
}

/// Decode an [`encode_decimal`] value from the front of `input`, returning it
/// at its shortest scale and the rest of the input.
pub fn decode_decimal(input: &[u8]) -> Result<(Decimal, &[u8])> {
    let (&sign, rest) = input.split_first().ok_or(Error::Truncated("decimal"))?;
    let flip = match sign {
        ZERO => return Ok((Decimal::ZERO, rest)),
        POSITIVE => 0,
        NEGATIVE => 0xFF,
        _ => return Err(Error::Invalid("decimal sign")),
    };
    let (&exp, mut rest) = rest.split_first().ok_or(Error::Truncated("decimal"))?;
    let exp = (exp ^ flip) as i32 - EXP_BIAS;
    let mut sig = [0u8; MAX_PAIR_DIGITS];
    let mut n = 0;
    loop {
        let (&b, tail) = rest.split_first().ok_or(Error::Truncated("decimal"))?;
        rest = tail;
        let b = b ^ flip;
        if b == TERMINATOR {
            break;
        }
        if b > 100 || n + 2 > sig.len() {
            return Err(Error::Invalid("decimal digits"));
        }
        sig[n] = (b - 1) / 10;
        sig[n + 1] = (b - 1) % 10;
        n += 2;
    }
    if n > 0 && sig[n - 1] == 0 {
        n -= 1;
    }
    // The encoder writes exactly the significant digits: no zero at either end.
    if n == 0 || sig[0] == 0 || sig[n - 1] == 0 {
        return Err(Error::Invalid("decimal digits"));
    }
    let int_len = exp.max(0) as usize;
    let frac_len = (n as i32 - exp).max(0) as usize;
    if frac_len > MAX_SCALE as usize || int_len + frac_len > MAX_PRECISION {
        return Err(Error::Invalid("decimal exponent"));
    }
    let mut d = Decimal {
        negative: flip != 0,
        scale: frac_len as u8,
        len: (int_len + frac_len) as u8,
        ..Decimal::ZERO
    };
    let at = (-exp).max(0) as usize;
    d.digits[at..at + n].copy_from_slice(&sig[..n]);
    Ok((d, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn enc(d: &Decimal) -> Vec<u8> {
        let mut buf = Vec::new();
        encode_decimal(&mut buf, d);
        buf
    }

    #[test]
    fn parse_and_print_keep_the_scale() {
        for (input, printed) in [
            ("-123.4500", "-123.4500"),
            ("0", "0"),
            ("-0.00", "0.00"),
            ("+007.5", "7.5"),
            (".5", "0.5"),
            ("5.", "5"),
            ("000", "0"),
            (
                "0.000000000000000000000000000001",
                "0.000000000000000000000000000001",
            ),
        ] {
            assert_eq!(dec(input).to_string(), printed);
        }
        assert_eq!(format!("{:>6}", dec("1.5")), "   1.5");
        for bad in [
            "",
            ".",
            "-",
            "1.2.3",
            "1e3",
            "--1",
            " 1",
            "1,5",
            "0.0000000000000000000000000000001",
        ] {
            assert!(bad.parse::<Decimal>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn precision_limits() {
        let max = format!("{}.{}", "9".repeat(35), "9".repeat(30));
        assert_eq!(dec(&max).to_string(), max);
        assert!(
            format!("{}.{}", "9".repeat(36), "9".repeat(30))
                .parse::<Decimal>()
                .is_err()
        );
        assert!("9".repeat(66).parse::<Decimal>().is_err());
        assert_eq!(dec(&"9".repeat(65)).to_string(), "9".repeat(65));
        // Leading zeros do not count towards the precision.
        assert_eq!(
            dec(&format!("000{}", "1".repeat(65))).to_string(),
            "1".repeat(65)
        );
    }

    #[test]
    fn equality_and_order_are_numeric() {
        assert_eq!(dec("1.50"), dec("1.5"));
        assert_eq!(dec("-0"), dec("0.000"));
        assert!(dec("-2") < dec("-1.999"));
        assert!(dec("0.12") < dec("0.123"));
        assert!(dec("-0.123") < dec("-0.12"));
        assert!(dec("10") > dec("9.99"));
        let hash = |d: &Decimal| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            d.hash(&mut h);
            h.finish()
        };
        assert_eq!(hash(&dec("1.50")), hash(&dec("1.5")));
    }

    #[test]
    fn key_form_orders_by_value_and_ignores_scale() {
        let max = format!("{}.{}", "9".repeat(35), "9".repeat(30));
        let values = [
            format!("-{max}"),
            "-100".into(),
            "-99.5".into(),
            "-0.1230001".into(),
            "-0.123".into(),
            "-0.000000000000000000000000000001".into(),
            "0".into(),
            "0.000000000000000000000000000001".into(),
            "0.12".into(),
            "0.120000000000000000000000000001".into(),
            "1".into(),
            "10".into(),
            "100.5".into(),
            "9".repeat(65),
            max.clone(),
        ];
        let mut sorted: Vec<Decimal> = values.iter().map(|s| dec(s)).collect();
        sorted.sort();
        for w in sorted.windows(2) {
            assert!(enc(&w[0]) < enc(&w[1]), "{} < {}", w[0], w[1]);
        }
        for d in &sorted {
            let bytes = enc(d);
            let (back, rest) = decode_decimal(&bytes).unwrap();
            assert_eq!((back, rest), (*d, &[][..]));
        }
        assert_eq!(enc(&dec("1.5")), enc(&dec("1.500")));
        assert_eq!(
            decode_decimal(&enc(&dec("100.500"))).unwrap().0.to_string(),
            "100.5"
        );
        assert_eq!(
            decode_decimal(&enc(&dec("-0.0"))).unwrap().0.to_string(),
            "0"
        );
    }

    #[test]
    fn rescale_pads_or_refuses_to_round() {
        assert_eq!(dec("1.5").rescale(3).unwrap().to_string(), "1.500");
        assert_eq!(dec("1.500").rescale(1).unwrap().to_string(), "1.5");
        assert_eq!(dec("-0.00").rescale(0).unwrap().to_string(), "0");
        assert!(dec("1.25").rescale(1).is_err());
        assert!(dec("1").rescale(31).is_err());
        assert!(dec(&"9".repeat(60)).rescale(6).is_err());
    }

    #[test]
    fn decode_rejects_garbage() {
        for bad in [
            &[][..],
            &[POSITIVE],
            &[POSITIVE, 129],
            &[POSITIVE, 129, 11],
            &[9],
            &[POSITIVE, 129, 101, 0],
            &[POSITIVE, 129, 1, 0],
            &[POSITIVE, 129, 11, 1, 0],
            &[POSITIVE, 129, 0],
            &[POSITIVE, 250, 11, 0],
            &[POSITIVE, 10, 11, 0],
        ] {
            assert!(decode_decimal(bad).is_err(), "{bad:?}");
        }
        let mut long = vec![POSITIVE, 129];
        long.extend([12; 40]);
        long.push(0);
        assert!(decode_decimal(&long).is_err());
    }
}
