//! The lexer of the textual IR: byte offsets into the source, never a panic on any input.

/// What a token is.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum TokKind {
    Eof,
    /// `arith.addi`, `i32`, `module`, `true`.
    BareId,
    /// `%0`, `%arg1`, `%x#1`.
    ValueId,
    /// `@main`, `@"quoted name"`.
    SymbolId,
    /// `^bb0`.
    CaretId,
    /// `!memory.linear`.
    ExclId,
    /// `#dialect.attr`.
    HashId,
    Int,
    Float,
    String,
    LParen,
    RParen,
    LBrace,
    RBrace,
    LSquare,
    RSquare,
    Less,
    Greater,
    Comma,
    Colon,
    DoubleColon,
    Equal,
    Arrow,
    Question,
    Star,
    Plus,
    Minus,
    /// A character no token starts with, or an unterminated string.
    Error,
}

/// A token: its kind and byte range in the source.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub struct Token {
    pub kind: TokKind,
    pub start: u32,
    pub end: u32,
}

/// Produces tokens from `src[start..end]`, skipping white space and `//` comments.
#[derive(Debug, Clone)]
pub struct Lexer<'src> {
    src: &'src [u8],
    pos: usize,
    end: usize,
}

fn is_id_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'$' | b'.' | b'-')
}

fn is_bare_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'$' | b'.')
}

impl<'src> Lexer<'src> {
    /// A lexer over `src[start..end]`; offsets stay relative to the whole `src`.
    pub fn new(src: &'src str, start: usize, end: usize) -> Self {
        Self { src: src.as_bytes(), pos: start, end: end.min(src.len()) }
    }

    fn peek(&self, ahead: usize) -> u8 {
        if self.pos + ahead < self.end { self.src[self.pos + ahead] } else { 0 }
    }

    fn skip_trivia(&mut self) {
        loop {
            while self.pos < self.end && self.src[self.pos].is_ascii_whitespace() {
                self.pos += 1;
            }
            if self.peek(0) == b'/' && self.peek(1) == b'/' {
                while self.pos < self.end && self.src[self.pos] != b'\n' {
                    self.pos += 1;
                }
            } else {
                return;
            }
        }
    }

    fn take_while(&mut self, f: impl Fn(u8) -> bool) {
        while self.pos < self.end && f(self.src[self.pos]) {
            self.pos += 1;
        }
    }

    /// Lexes a string body after the opening quote; returns false if unterminated.
    fn string_body(&mut self) -> bool {
        while self.pos < self.end {
            match self.src[self.pos] {
                b'"' => {
                    self.pos += 1;
                    return true;
                }
                b'\\' => self.pos += 2,
                b'\n' => return false,
                _ => self.pos += 1,
            }
        }
        self.pos = self.pos.min(self.end);
        false
    }

    fn number(&mut self) -> TokKind {
        if self.peek(0) == b'-' {
            self.pos += 1;
        }
        if self.peek(0) == b'0' && matches!(self.peek(1), b'x' | b'X') && self.peek(2).is_ascii_hexdigit() {
            self.pos += 2;
            self.take_while(|b| b.is_ascii_hexdigit());
            return TokKind::Int;
        }
        self.take_while(|b| b.is_ascii_digit());
        let mut kind = TokKind::Int;
        if self.peek(0) == b'.' && self.peek(1).is_ascii_digit() {
            self.pos += 1;
            self.take_while(|b| b.is_ascii_digit());
            kind = TokKind::Float;
        }
        if matches!(self.peek(0), b'e' | b'E') {
            let sign = usize::from(matches!(self.peek(1), b'+' | b'-'));
            if self.peek(1 + sign).is_ascii_digit() {
                self.pos += 1 + sign;
                self.take_while(|b| b.is_ascii_digit());
                kind = TokKind::Float;
            }
        }
        kind
    }

    /// The next token; `Eof` forever once the end is reached.
    pub fn next_token(&mut self) -> Token {
        self.skip_trivia();
        let start = self.pos;
        if start >= self.end {
            return Token { kind: TokKind::Eof, start: self.end as u32, end: self.end as u32 };
        }
        let c = self.src[start];
        self.pos += 1;
        let kind = match c {
            b'(' => TokKind::LParen,
            b')' => TokKind::RParen,
            b'{' => TokKind::LBrace,
            b'}' => TokKind::RBrace,
            b'[' => TokKind::LSquare,
            b']' => TokKind::RSquare,
            b'<' => TokKind::Less,
            b'>' => TokKind::Greater,
            b',' => TokKind::Comma,
            b'=' => TokKind::Equal,
            b'?' => TokKind::Question,
            b'*' => TokKind::Star,
            b'+' => TokKind::Plus,
            b':' => {
                if self.peek(0) == b':' {
                    self.pos += 1;
                    TokKind::DoubleColon
                } else {
                    TokKind::Colon
                }
            }
            b'-' => {
                if self.peek(0) == b'>' {
                    self.pos += 1;
                    TokKind::Arrow
                } else if self.peek(0).is_ascii_digit() {
                    self.pos = start;
                    self.number()
                } else {
                    TokKind::Minus
                }
            }
            b'0'..=b'9' => {
                self.pos = start;
                self.number()
            }
            b'"' => {
                if self.string_body() {
                    TokKind::String
                } else {
                    TokKind::Error
                }
            }
            b'%' => {
                let body = self.pos;
                self.take_while(is_id_char);
                if self.pos == body {
                    TokKind::Error
                } else {
                    if self.peek(0) == b'#' && self.peek(1).is_ascii_digit() {
                        self.pos += 1;
                        self.take_while(|b| b.is_ascii_digit());
                    }
                    TokKind::ValueId
                }
            }
            b'@' => {
                if self.peek(0) == b'"' {
                    self.pos += 1;
                    if self.string_body() { TokKind::SymbolId } else { TokKind::Error }
                } else {
                    let body = self.pos;
                    self.take_while(is_id_char);
                    if self.pos == body { TokKind::Error } else { TokKind::SymbolId }
                }
            }
            b'^' | b'!' | b'#' => {
                let body = self.pos;
                self.take_while(is_bare_char);
                if self.pos == body {
                    TokKind::Error
                } else {
                    match c {
                        b'^' => TokKind::CaretId,
                        b'!' => TokKind::ExclId,
                        _ => TokKind::HashId,
                    }
                }
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                self.take_while(is_bare_char);
                TokKind::BareId
            }
            _ => {
                // Skip a whole UTF-8 sequence so the error span covers one character.
                while self.pos < self.end && (self.src[self.pos] & 0xC0) == 0x80 {
                    self.pos += 1;
                }
                TokKind::Error
            }
        };
        Token { kind, start: start as u32, end: self.pos.min(self.end) as u32 }
    }
}

/// Decodes the body of a string token (quotes included) to bytes, handling `\"`, `\\`,
/// `\n`, `\t` and two-digit hex escapes. `None` if an escape is malformed.
pub fn unescape_bytes(token_text: &str) -> Option<Vec<u8>> {
    let inner = token_text.strip_prefix('"')?.strip_suffix('"')?;
    let bytes = inner.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(inner.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let next = *bytes.get(i + 1)?;
        match next {
            b'"' | b'\\' => out.push(next),
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            _ => {
                let hex = inner.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
                continue;
            }
        }
        i += 2;
    }
    Some(out)
}

/// Decodes a string token that must be valid UTF-8.
pub fn unescape(token_text: &str) -> Option<String> {
    String::from_utf8(unescape_bytes(token_text)?).ok()
}

/// Writes bytes as a string literal: printable ASCII as is, everything else as `\XX`.
pub fn escape_bytes_into(out: &mut String, bytes: &[u8]) {
    out.push('"');
    for &b in bytes {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\{b:02X}")),
        }
    }
    out.push('"');
}

/// Writes `s` as a string literal that [`unescape`] reads back exactly. As in MLIR, every
/// byte outside printable ASCII is written as a `\XX` escape, so printed IR is plain ASCII.
pub fn escape_into(out: &mut String, s: &str) {
    escape_bytes_into(out, s.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<(TokKind, &str)> {
        let mut lexer = Lexer::new(src, 0, src.len());
        let mut out = Vec::new();
        loop {
            let t = lexer.next_token();
            if t.kind == TokKind::Eof {
                return out;
            }
            out.push((t.kind, &src[t.start as usize..t.end as usize]));
        }
    }

    #[test]
    fn tokens_of_every_kind() {
        use TokKind::*;
        assert_eq!(
            kinds(
                "%0 %x#1 @f @\"a b\" ^bb0 !d.t #d.a arith.addi -12 0x1F 1.5e-3 2e9 \"s\\\"\" -> :: , ( ) { } [ ] < > = : // c\n-"
            ),
            vec![
                (ValueId, "%0"),
                (ValueId, "%x#1"),
                (SymbolId, "@f"),
                (SymbolId, "@\"a b\""),
                (CaretId, "^bb0"),
                (ExclId, "!d.t"),
                (HashId, "#d.a"),
                (BareId, "arith.addi"),
                (Int, "-12"),
                (Int, "0x1F"),
                (Float, "1.5e-3"),
                (Float, "2e9"),
                (String, "\"s\\\"\""),
                (Arrow, "->"),
                (DoubleColon, "::"),
                (Comma, ","),
                (LParen, "("),
                (RParen, ")"),
                (LBrace, "{"),
                (RBrace, "}"),
                (LSquare, "["),
                (RSquare, "]"),
                (Less, "<"),
                (Greater, ">"),
                (Equal, "="),
                (Colon, ":"),
                (Minus, "-"),
            ]
        );
    }

    #[test]
    fn malformed_tokens_are_error_tokens_covering_one_character() {
        assert_eq!(kinds("\"open"), vec![(TokKind::Error, "\"open")]);
        assert_eq!(kinds("%"), vec![(TokKind::Error, "%")]);
        assert_eq!(kinds("é"), vec![(TokKind::Error, "é")]);
        assert_eq!(kinds("!"), vec![(TokKind::Error, "!")]);
    }

    #[test]
    fn a_lexer_over_a_range_stays_inside_it() {
        let src = "aaa bbb ccc";
        let mut lexer = Lexer::new(src, 4, 7);
        let t = lexer.next_token();
        assert_eq!((t.kind, t.start, t.end), (TokKind::BareId, 4, 7));
        assert_eq!(lexer.next_token().kind, TokKind::Eof);
    }

    #[test]
    fn escaping_round_trips_every_character_class() {
        for s in ["", "plain", "quote\"back\\slash", "tab\tnew\nline", "\u{0}\u{1f}\u{7f}", "ünïcödé ✓"]
        {
            let mut out = String::new();
            escape_into(&mut out, s);
            assert_eq!(unescape(&out).as_deref(), Some(s), "{out}");
        }
        assert_eq!(unescape("\"bad \\q escape\""), None);
        assert_eq!(unescape("\"\\FF\""), None, "a lone 0xFF byte is not UTF-8");
    }
}
