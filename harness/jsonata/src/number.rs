//! Numbers as JavaScript writes and rounds them: jsonata-js's output is whatever
//! `Number.prototype.toString` and `toPrecision(15)` produce (`$string(1e21)` is `"1e+21"`,
//! `$string(0.1 + 0.2)` is `"0.3"`), and `$round` and `$formatNumber` round through that text.

/// The digits and the exponent n (x = 0.d₁d₂… × 10ⁿ) of Rust's `{:e}` form.
fn exponent_form(text: &str) -> (String, i64) {
    let (mantissa, exponent) = text.split_once('e').unwrap_or((text, "0"));
    let digits = mantissa.chars().filter(char::is_ascii_digit).collect();
    (digits, exponent.parse::<i64>().unwrap_or(0) + 1)
}

/// A decimal digit string plus one in its last place ("199" → "200", "99" → "100").
pub fn increment(digits: &str) -> String {
    let mut bytes = digits.as_bytes().to_vec();
    for d in bytes.iter_mut().rev() {
        if *d == b'9' {
            *d = b'0';
        } else {
            *d += 1;
            return String::from_utf8_lossy(&bytes).into_owned();
        }
    }
    bytes.insert(0, b'1');
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The shortest decimal digits that read back as `x` (finite and positive), and the decimal
/// exponent `n` with x = 0.d₁d₂… × 10ⁿ (ECMA-262's Number::toString variables).
fn shortest_digits(x: f64) -> (String, i64) {
    let (digits, n) = exponent_form(&format!("{x:e}"));
    // When x lies exactly halfway between the two closest shortest candidates, ECMA-262 takes the
    // even one and Rust's formatter may not: 1730515161497700.25 is "…700.2" in JavaScript,
    // "…700.3" in Rust. A tie needs x's exact expansion to be one digit longer, ending in 5; the
    // one-digit-longer rounding is a cheap test before the exact expansion (800 places hold every
    // double's, at most 767 significant digits).
    let (longer, _) = exponent_form(&format!("{x:.*e}", digits.len()));
    if !longer.ends_with('5') {
        return (digits, n);
    }
    let (exact, exact_n) = exponent_form(&format!("{x:.800e}"));
    let exact = exact.trim_end_matches('0');
    if exact.len() != digits.len() + 1 || !exact.ends_with('5') {
        return (digits, n);
    }
    let down = exact[..digits.len()].to_string();
    let up = increment(&down);
    let up = if up.len() > down.len() {
        (up[..down.len()].to_string(), exact_n + 1)
    } else {
        (up, exact_n)
    };
    for (candidate, candidate_n) in [(down, exact_n), up] {
        let even = candidate.bytes().last().is_some_and(|d| (d - b'0').is_multiple_of(2));
        if even && format!("0.{candidate}e{candidate_n}").parse::<f64>() == Ok(x) {
            return (candidate.trim_end_matches('0').to_string(), candidate_n);
        }
    }
    (digits, n)
}

/// `Number.prototype.toString()` (ECMA-262 Number::toString, radix 10).
pub fn to_string(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x == 0.0 {
        return "0".into();
    }
    if x < 0.0 {
        return format!("-{}", to_string(-x));
    }
    if x.is_infinite() {
        return "Infinity".into();
    }
    let (digits, n) = shortest_digits(x);
    let k = digits.len() as i64;
    if k <= n && n <= 21 {
        format!("{digits}{}", "0".repeat((n - k) as usize))
    } else if 0 < n && n <= 21 {
        let (int, frac) = digits.split_at(n as usize);
        format!("{int}.{frac}")
    } else if -6 < n && n <= 0 {
        format!("0.{}{digits}", "0".repeat((-n) as usize))
    } else {
        let e = n - 1;
        let sign = if e < 0 { '-' } else { '+' };
        let (first, rest) = digits.split_at(1);
        let point = if rest.is_empty() { "" } else { "." };
        format!("{first}{point}{rest}e{sign}{}", e.abs())
    }
}

/// `Number(n.toPrecision(15))`: how jsonata-js rounds every number it writes as JSON text.
pub fn to_precision_15(n: f64) -> f64 {
    if !n.is_finite() || n == 0.0 {
        return n;
    }
    format!("{n:.14e}").parse().unwrap_or(n)
}

/// jsonata-js's `round(arg, precision)` (`$round`, and `$formatNumber`'s rounding): half to even at
/// `precision` decimal places (negative: tens, hundreds …). The decimal point is moved by editing
/// the exponent of the number's shortest text, not by multiplying, so 1.005 shifts to exactly
/// 100.5 (and rounds to 1.00) where 1.005 * 100 would be 100.49999999999999. A shift past the
/// largest double makes NaN, as in jsonata-js.
pub fn round(arg: f64, precision: impl TryInto<i64>) -> f64 {
    let shift = |x: f64, by: i64| {
        let text = to_string(x);
        let (mantissa, exponent) = match text.split_once('e') {
            Some((mantissa, exponent)) => (mantissa, exponent.parse::<i64>().unwrap_or(0)),
            None => (text.as_str(), 0),
        };
        // Only digits, a sign and a point reach the parser: NaN and Infinity stay NaN, as
        // JavaScript's `+"NaNe2"` is.
        if mantissa.chars().any(|c| c.is_ascii_alphabetic()) {
            return f64::NAN;
        }
        format!("{mantissa}e{}", exponent.saturating_add(by))
            .parse::<f64>()
            .unwrap_or(f64::NAN)
    };
    let precision: i64 = precision.try_into().unwrap_or(i64::MAX);
    // jsonata-js tests `if (precision)`: no shifting for 0.
    let shifted = if precision == 0 { arg } else { shift(arg, precision) };
    // `Math.round`: ties towards +∞ (exact: below 2^52 the difference is representable).
    let floor = shifted.floor();
    let mut result = if shifted - floor >= 0.5 { floor + 1.0 } else { floor };
    if (result - shifted).abs() == 0.5 && (result % 2.0).abs() == 1.0 {
        // Math.round took the tie upwards to an odd number: half to even wants the other one.
        result -= 1.0;
    }
    if precision != 0 {
        result = shift(result, -precision);
    }
    // JSON has no -0.
    if result == 0.0 { 0.0 } else { result }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_as_javascript_writes_them() {
        for (n, text) in [
            (1.0, "1"),
            (-1.5, "-1.5"),
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (123456789.125, "123456789.125"),
            (0.000001, "0.000001"),
            (0.0000001, "1e-7"),
            (1.5e-10, "1.5e-10"),
            (-0.0, "0"),
            (0.1 + 0.2, "0.30000000000000004"),
            (f64::MAX, "1.7976931348623157e+308"),
        ] {
            assert_eq!(to_string(n), text, "{n:e}");
        }
        // Exactly halfway between two shortest spellings: ECMAScript takes the even one.
        let tie: f64 = "1730515161497700.25".parse().unwrap();
        assert_eq!(to_string(tie), "1730515161497700.2");
        assert_eq!(to_string(to_precision_15(0.1 + 0.2)), "0.3");
        assert_eq!(to_string(to_precision_15(1.234_567_890_123_456_7)), "1.23456789012346");
    }

    #[test]
    fn rounding_is_half_to_even_on_the_decimal_digits() {
        assert_eq!(round(2.5, 0), 2.0);
        assert_eq!(round(3.5, 0), 4.0);
        assert_eq!(round(-2.5, 0), -2.0);
        assert_eq!(round(2.675, 2), 2.68);
        assert_eq!(round(1.005, 2), 1.0);
        assert_eq!(round(1234.5, -2), 1200.0);
        assert_eq!(round(-0.4, 0).to_bits(), 0f64.to_bits());
    }
}
