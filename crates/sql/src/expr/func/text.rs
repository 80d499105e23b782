//! Encoding, hashing, radix and regular-expression functions: MD5, SHA1,
//! SHA2, TO_BASE64, FROM_BASE64, QUOTE, CONV, BIT_LENGTH, BIT_COUNT, ORD, CHAR,
//! INSERT, REGEXP / REGEXP_LIKE, REGEXP_REPLACE, REGEXP_SUBSTR, REGEXP_INSTR.
//!
//! Regular expressions follow MySQL 8's ICU engine closely enough for the
//! common syntax (the `regex` crate's), and match case-insensitively only
//! under a case-insensitive collation (utf8mb4_general_ci).

use super::{Func, char_bounds, int_bits};
use crate::expr::EvalContext;
use crate::expr::cast;
use crate::result::SqlError;
use crate::types::Collation;
use codec::Datum;
use sha1::Digest;

/// Evaluate one of this module's functions.
pub(super) fn eval(
    func: Func,
    args: &[Datum],
    collation: Collation,
    ctx: &mut EvalContext<'_>,
) -> Result<Datum, SqlError> {
    use Func::*;
    let regex = |pattern: &[u8]| regex(pattern, collation);
    if func == Quote {
        return Ok(match cast::as_text(&args[0]) {
            None => text("NULL"),
            Some(s) => Datum::Bytes(quote(&s)),
        });
    }
    if func == Char {
        // Each integer as its big-endian bytes without leading zeros; NULLs skipped.
        let mut out = Vec::new();
        for a in args {
            if let Some(v) = int_bits(a, ctx)? {
                let bytes = (v as u32).to_be_bytes();
                let skip = bytes.iter().take(3).take_while(|&&b| b == 0).count();
                out.extend_from_slice(&bytes[skip..]);
            }
        }
        return Ok(Datum::Bytes(out));
    }
    if args.contains(&Datum::Null) {
        return Ok(Datum::Null);
    }
    let arg = |i: usize| cast::as_text(&args[i]).unwrap_or_default();
    Ok(match func {
        Md5 => text(&hex_lower(&md5(&arg(0)))),
        Sha1 => text(&hex_lower(&sha1::Sha1::digest(&*arg(0)))),
        Sha2 => {
            let s = arg(0);
            let digest = match cast::to_i64(&args[1], ctx)? {
                Some(224) => sha2::Sha224::digest(&*s).to_vec(),
                Some(256 | 0) => sha2::Sha256::digest(&*s).to_vec(),
                Some(384) => sha2::Sha384::digest(&*s).to_vec(),
                Some(512) => sha2::Sha512::digest(&*s).to_vec(),
                _ => return Ok(Datum::Null),
            };
            text(&hex_lower(&digest))
        }
        ToBase64 => Datum::Bytes(to_base64(&arg(0))),
        FromBase64 => from_base64(&arg(0)).map_or(Datum::Null, Datum::Bytes),
        BitLength => Datum::I64(arg(0).len() as i64 * 8),
        BitCount => match int_bits(&args[0], ctx)? {
            Some(v) => Datum::I64(v.count_ones() as i64),
            None => Datum::Null,
        },
        Ord => {
            let s = arg(0);
            let first = char_bounds(&s).get(1).copied().unwrap_or(0);
            Datum::I64(s[..first].iter().fold(0i64, |acc, &b| acc * 256 + b as i64))
        }
        Insert => {
            let s = arg(0);
            let (Some(pos), Some(len)) =
                (cast::to_i64(&args[1], ctx)?, cast::to_i64(&args[2], ctx)?)
            else {
                return Ok(Datum::Null);
            };
            let bounds = char_bounds(&s);
            let count = bounds.len() as i64 - 1;
            if pos < 1 || pos > count {
                return Ok(Datum::Bytes(s.into_owned()));
            }
            let from = (pos - 1) as usize;
            let to = if len < 0 {
                count
            } else {
                (pos - 1).saturating_add(len).min(count)
            } as usize;
            let mut out = s[..bounds[from]].to_vec();
            out.extend_from_slice(&arg(3));
            out.extend_from_slice(&s[bounds[to]..]);
            Datum::Bytes(out)
        }
        Conv => conv(&arg(0), &args[1], &args[2], ctx)?,
        RegexpLike => Datum::I64(regex(&arg(1))?.is_match(&lossy(&arg(0))) as i64),
        RegexpReplace => {
            let re = regex(&arg(1))?;
            let subject = lossy(&arg(0));
            let replacement = lossy(&arg(2));
            text(&re.replace_all(&subject, regex::NoExpand(&replacement)))
        }
        RegexpSubstr => {
            let subject = lossy(&arg(0));
            match regex(&arg(1))?.find(&subject) {
                Some(m) => text(m.as_str()),
                None => Datum::Null,
            }
        }
        RegexpInstr => {
            let subject = lossy(&arg(0));
            Datum::I64(match regex(&arg(1))?.find(&subject) {
                Some(m) => subject[..m.start()].chars().count() as i64 + 1,
                None => 0,
            })
        }
        _ => Datum::Null,
    })
}

fn text(s: &str) -> Datum {
    Datum::Bytes(s.as_bytes().to_vec())
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn hex_lower(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A pattern compiled for `collation` (case-insensitive under
/// utf8mb4_general_ci); a bad pattern is error 3692. Compiled per call:
/// constant patterns are not cached yet.
fn regex(pattern: &[u8], collation: Collation) -> Result<regex::Regex, SqlError> {
    regex::RegexBuilder::new(&lossy(pattern))
        .case_insensitive(collation == Collation::Utf8mb4GeneralCi)
        .build()
        .map_err(|e| SqlError::new(3692, "HY000", format!("Incorrect regular expression: {e}")))
}

/// QUOTE: `'...'` with `\`, `'`, NUL and ^Z escaped.
fn quote(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() + 2);
    out.push(b'\'');
    for &b in s {
        match b {
            b'\\' | b'\'' => out.extend_from_slice(&[b'\\', b]),
            0 => out.extend_from_slice(b"\\0"),
            0x1a => out.extend_from_slice(b"\\Z"),
            _ => out.push(b),
        }
    }
    out.push(b'\'');
    out
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// TO_BASE64: standard alphabet, padded, a newline every 76 characters as
/// MySQL writes it.
fn to_base64(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len().div_ceil(3) * 4);
    for (i, chunk) in b.chunks(3).enumerate() {
        if i > 0 && i % 19 == 0 {
            out.push(b'\n');
        }
        let n = chunk.iter().fold(0u32, |acc, &x| acc << 8 | x as u32) << (8 * (3 - chunk.len()));
        for k in 0..4 {
            out.push(if k <= chunk.len() {
                BASE64[(n >> (18 - 6 * k) & 63) as usize]
            } else {
                b'='
            });
        }
    }
    out
}

/// FROM_BASE64: None (NULL) for text that is not base64; whitespace is
/// skipped.
fn from_base64(b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(b.len() / 4 * 3);
    let (mut acc, mut bits, mut padding) = (0u32, 0, 0);
    for &c in b.iter().filter(|c| !c.is_ascii_whitespace()) {
        if c == b'=' {
            padding += 1;
            continue;
        }
        if padding > 0 {
            return None;
        }
        acc = acc << 6 | BASE64.iter().position(|&x| x == c)? as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    (padding <= 2).then_some(out)
}

/// CONV(n, from_base, to_base): a negative `to_base` prints signed; a
/// negative `from_base` reads signed. Digits stop at the first invalid one.
fn conv(n: &[u8], from: &Datum, to: &Datum, ctx: &mut EvalContext<'_>) -> Result<Datum, SqlError> {
    let (Some(from), Some(to)) = (cast::to_i64(from, ctx)?, cast::to_i64(to, ctx)?) else {
        return Ok(Datum::Null);
    };
    let (from_abs, to_abs) = (from.unsigned_abs(), to.unsigned_abs());
    if !(2..=36).contains(&from_abs) || !(2..=36).contains(&to_abs) {
        return Ok(Datum::Null);
    }
    let s = String::from_utf8_lossy(n);
    let s = s.trim();
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let mut value: u64 = 0;
    for c in digits.chars() {
        let Some(d) = c.to_digit(from_abs as u32) else {
            break;
        };
        value = value.saturating_mul(from_abs).saturating_add(d as u64);
    }
    let value = if negative {
        value.wrapping_neg()
    } else {
        value
    };
    let (negative_out, magnitude) = if to < 0 && (value as i64) < 0 {
        (true, (value as i64).unsigned_abs())
    } else {
        (false, value)
    };
    let mut out = Vec::new();
    let mut m = magnitude;
    loop {
        out.push(std::char::from_digit((m % to_abs) as u32, to_abs as u32).unwrap_or('0'));
        m /= to_abs;
        if m == 0 {
            break;
        }
    }
    if negative_out {
        out.push('-');
    }
    let s: String = out.iter().rev().collect::<String>().to_uppercase();
    Ok(text(&s))
}

/// MD5 (RFC 1321).
fn md5(input: &[u8]) -> [u8; 16] {
    const S: [u32; 64] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5,
        9, 14, 20, 5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10,
        15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
    ];
    let k: Vec<u32> = (0..64)
        .map(|i| ((i as f64 + 1.0).sin().abs() * 4_294_967_296.0) as u32)
        .collect();
    let mut msg = input.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((input.len() as u64).wrapping_mul(8)).to_le_bytes());
    let mut h: [u32; 4] = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];
    for block in msg.chunks(64) {
        let m: Vec<u32> = block
            .chunks(4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
            .collect();
        let [mut a, mut b, mut c, mut d] = h;
        for i in 0..64 {
            let (f, g) = match i / 16 {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let f = f.wrapping_add(a).wrapping_add(k[i]).wrapping_add(m[g]);
            a = d;
            d = c;
            c = b;
            b = b.wrapping_add(f.rotate_left(S[i]));
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 16];
    for (i, word) in h.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&word.to_le_bytes());
    }
    out
}
