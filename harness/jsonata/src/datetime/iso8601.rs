//! jsonata-js's test that `$toMillis` without a picture applies before it hands the timestamp to
//! `Date.parse`.

/// `^\d{4}(-[01]\d)?(-[0-3]\d)?(T[0-2]\d:[0-5]\d:[0-5]\d)?(\.\d+)?([+-][0-2]\d:?[0-5]\d|Z)?$`,
/// each optional group tried taken, then skipped, as a backtracking engine does.
pub(super) fn matches(timestamp: &str) -> bool {
    let b = timestamp.as_bytes();
    b.len() >= 4 && b.iter().take(4).all(u8::is_ascii_digit) && from_group(b, 4, 0)
}

fn from_group(b: &[u8], at: usize, group: usize) -> bool {
    let within = |i: usize, lo: u8, hi: u8| b.get(i).is_some_and(|c| (lo..=hi).contains(c));
    let digit = |i: usize| within(i, b'0', b'9');
    let is = |i: usize, c: u8| b.get(i) == Some(&c);
    let taken = match group {
        0 => is(at, b'-') && within(at + 1, b'0', b'1') && digit(at + 2) && from_group(b, at + 3, 1),
        1 => is(at, b'-') && within(at + 1, b'0', b'3') && digit(at + 2) && from_group(b, at + 3, 2),
        2 => {
            is(at, b'T')
                && within(at + 1, b'0', b'2')
                && digit(at + 2)
                && is(at + 3, b':')
                && within(at + 4, b'0', b'5')
                && digit(at + 5)
                && is(at + 6, b':')
                && within(at + 7, b'0', b'5')
                && digit(at + 8)
                && from_group(b, at + 9, 3)
        }
        // Greedy: fewer digits would leave a digit that neither the zone nor the end accepts.
        3 => {
            let digits = b
                .get(at + 1..)
                .map_or(0, |r| r.iter().take_while(|c| c.is_ascii_digit()).count());
            is(at, b'.') && digits > 0 && from_group(b, at + 1 + digits, 4)
        }
        4 => {
            (is(at, b'Z') && from_group(b, at + 1, 5))
                || ((is(at, b'+') || is(at, b'-'))
                    && within(at + 1, b'0', b'2')
                    && digit(at + 2)
                    && ((is(at + 3, b':') && within(at + 4, b'0', b'5') && digit(at + 5) && from_group(b, at + 6, 5))
                        || (within(at + 3, b'0', b'5') && digit(at + 4) && from_group(b, at + 5, 5))))
        }
        _ => return at == b.len(),
    };
    taken || from_group(b, at, group + 1)
}
