//! The hub writes its SQL once, with SQLite's numbered parameters (`?1`, `?2`, or a bare
//! `?` meaning "the next one"); PostgreSQL numbers them `$1`, `$2`. This rewrites one
//! into the other, leaving quoted text, quoted names and comments alone.

/// `sql` with every parameter outside quotes and comments written as `$N`.
pub fn to_dollar(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut chars = sql.chars().peekable();
    let mut next_bare = 1u32;
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                out.push(c);
                copy_quoted(c, &mut chars, &mut out);
            }
            '-' if chars.peek() == Some(&'-') => {
                out.push(c);
                for c in chars.by_ref() {
                    out.push(c);
                    if c == '\n' {
                        break;
                    }
                }
            }
            '?' => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                out.push('$');
                if digits.is_empty() {
                    out.push_str(&next_bare.to_string());
                    next_bare += 1;
                } else {
                    // SQLite numbers a bare `?` after `?N` as N + 1.
                    next_bare = digits.parse::<u32>().map_or(next_bare, |n| n + 1);
                    out.push_str(&digits);
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// Copies up to and including the closing `quote` (a doubled quote stays inside).
fn copy_quoted(quote: char, chars: &mut std::iter::Peekable<std::str::Chars>, out: &mut String) {
    while let Some(c) = chars.next() {
        out.push(c);
        if c == quote {
            if chars.peek() == Some(&quote) {
                out.push(quote);
                chars.next();
            } else {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::to_dollar;

    #[test]
    fn numbered_and_bare_parameters_become_dollars() {
        assert_eq!(
            to_dollar("SELECT a FROM t WHERE b = ?2 AND c = ?1"),
            "SELECT a FROM t WHERE b = $2 AND c = $1"
        );
        assert_eq!(to_dollar("VALUES (?, ?, ?)"), "VALUES ($1, $2, $3)");
        assert_eq!(to_dollar("VALUES (?3, ?)"), "VALUES ($3, $4)");
    }

    #[test]
    fn quotes_and_comments_are_left_alone() {
        assert_eq!(
            to_dollar("SELECT '?1', 'it''s ?', \"a?\" -- why?\n FROM t WHERE x = ?1"),
            "SELECT '?1', 'it''s ?', \"a?\" -- why?\n FROM t WHERE x = $1"
        );
    }
}
