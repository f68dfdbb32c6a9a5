//! The manifest's YAML as a tree of strings with lines, built from the
//! events of the `granit-parser` crate (which keeps line numbers and has no
//! serde tree of its own). Invariant: input, depth and alias expansion are
//! bounded (see the limits below), so any bytes give a tree or a message.

use std::collections::HashSet;
use std::fmt;

use granit_parser::{ErrorKind, Event, Parser, ScalarStyle, ScanError, Span};

/// The largest input read, in bytes.
pub const MAX_INPUT: usize = 1 << 20;
/// The deepest nesting of collections read.
pub const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    /// A scalar; `plain` when it was not quoted (numbers are plain).
    Str {
        text: String,
        plain: bool,
    },
    Seq(Vec<Node>),
    /// Entries in the order written; keys are unique.
    Map(Vec<(String, Node)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    /// 0-based line of the node, or of its key in a mapping.
    pub line: usize,
}

/// Parse every document of `src`. Empty documents after an explicit
/// `---` marker are kept as `Null`.
pub fn parse_stream(src: &str) -> Result<Vec<Node>, String> {
    if src.len() > MAX_INPUT {
        return Err(format!(
            "(document root): the input is {} bytes; allowed: at most {MAX_INPUT} bytes (a manifest is far smaller)",
            src.len()
        ));
    }
    if let Some((line, c)) = first_unprintable(src) {
        return Err(format!(
            "YAML syntax error at line {}: the character U+{:04X} is not allowed in YAML (is this a binary file?)",
            line + 1,
            u32::from(c)
        ));
    }
    // One more than our own cap, so that `Builder::open` reports the
    // nesting first; the parser's limit only keeps its own stacks small.
    let options = granit_parser::options! {
        flow_nesting_limit: MAX_DEPTH + 1,
        block_nesting_limit: MAX_DEPTH + 1,
        emit_unresolved_aliases: true,
    };
    let mut b = Builder::default();
    for next in Parser::new_from_str_with_options(src, options) {
        let (event, span) = next.map_err(|e| b.scan_error(&e))?;
        b.event(event, span)?;
    }
    Ok(b.docs)
}

fn first_unprintable(src: &str) -> Option<(usize, char)> {
    let mut line = 0;
    for c in src.chars() {
        if c == '\n' {
            line += 1;
        } else if !matches!(c,
            '\t' | '\r' | ' '..='~' | '\u{85}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..='\u{10ffff}')
        {
            return Some((line, c));
        }
    }
    None
}

fn short(s: &str) -> String {
    let mut out: String = s.chars().take(40).collect::<String>().escape_debug().collect();
    if s.chars().nth(40).is_some() {
        out.push('…');
    }
    out
}

/// A collection being read.
enum Open {
    Seq {
        items: Vec<Node>,
        line: usize,
    },
    Map {
        entries: Vec<(String, Node)>,
        line: usize,
        /// The key whose value comes next, and its line.
        key: Option<(String, usize)>,
        seen: HashSet<String>,
    },
}

/// Builds the tree from the parser's events with an explicit stack (at
/// most [`MAX_DEPTH`] deep), so nesting never recurses.
#[derive(Default)]
struct Builder {
    docs: Vec<Node>,
    stack: Vec<Open>,
    /// Whether the current document started with `---`.
    explicit: bool,
}

impl Builder {
    fn event(&mut self, event: Event, span: Span) -> Result<(), String> {
        let line = span.start.line().saturating_sub(1);
        match event {
            Event::DocumentStart(explicit, _) => self.explicit = explicit,
            Event::Scalar(text, style, anchor, tag) => {
                self.properties(anchor, tag.is_some(), line)?;
                let plain = style == ScalarStyle::Plain;
                // The parser writes an empty node (`key:`) as `~`; its span is empty.
                let text = if plain && span.start.index() == span.end.index() {
                    "".into()
                } else {
                    text
                };
                if let Some(Open::Map {
                    key: key @ None, seen, ..
                }) = self.stack.last_mut()
                {
                    if seen.insert(text.to_string()) {
                        *key = Some((text.into_owned(), line));
                        return Ok(());
                    }
                    return Err(self.err(line, format!("duplicate key `{}`", short(&text))));
                }
                let value = if plain && matches!(&*text, "" | "~" | "null" | "Null" | "NULL") {
                    Value::Null
                } else {
                    Value::Str {
                        text: text.into_owned(),
                        plain,
                    }
                };
                self.add(Node { value, line });
            }
            Event::SequenceStart(_, anchor, tag) => {
                self.properties(anchor, tag.is_some(), line)?;
                self.open(Open::Seq {
                    items: Vec::new(),
                    line,
                })?;
            }
            Event::MappingStart(_, anchor, tag) => {
                self.properties(anchor, tag.is_some(), line)?;
                self.open(Open::Map {
                    entries: Vec::new(),
                    line,
                    key: None,
                    seen: HashSet::new(),
                })?;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                // The parser pairs every end with a start, each of which pushed.
                if let Some(open) = self.stack.pop() {
                    let node = match open {
                        Open::Seq { items, line } => Node {
                            value: Value::Seq(items),
                            line,
                        },
                        Open::Map { entries, line, .. } => Node {
                            value: Value::Map(entries),
                            line,
                        },
                    };
                    self.add(node);
                }
            }
            Event::Alias(_) | Event::UnresolvedAlias(_) => {
                return Err(self.err(line, "aliases (`*name`) are not supported: write the value out"))
            }
            // Stream and document ends, comments and anything a newer
            // parser adds carry no data.
            _ => {}
        }
        Ok(())
    }

    /// Anchors and tags are not read: nothing is ever expanded.
    fn properties(&self, anchor: usize, tagged: bool, line: usize) -> Result<(), String> {
        if anchor != 0 {
            Err(self.err(line, "anchors (`&name`) are not supported: write the value out"))
        } else if tagged {
            Err(self.err(line, "tags (`!tag`) are not supported"))
        } else {
            Ok(())
        }
    }

    fn open(&mut self, open: Open) -> Result<(), String> {
        let line = match &open {
            Open::Seq { line, .. } | Open::Map { line, .. } => *line,
        };
        if let Some(Open::Map { key: None, .. }) = self.stack.last() {
            return Err(self.err(
                line,
                "a list or mapping as a key (a complex key) is not supported; allowed: a plain or quoted string",
            ));
        }
        if self.stack.len() >= MAX_DEPTH {
            return Err(self.err(line, format!("the document nests deeper than {MAX_DEPTH} levels")));
        }
        self.stack.push(open);
        Ok(())
    }

    /// A finished value: an item, a mapping's value, or a document.
    fn add(&mut self, mut node: Node) {
        match self.stack.last_mut() {
            None => {
                if self.explicit || node.value != Value::Null {
                    self.docs.push(node);
                }
            }
            Some(Open::Seq { items, .. }) => items.push(node),
            Some(Open::Map { entries, key, .. }) => {
                // A value always follows its key: keys never reach here.
                if let Some((k, key_line)) = key.take() {
                    node.line = key_line;
                    entries.push((k, node));
                }
            }
        }
    }

    /// Where the builder is, e.g. `spec.metrics[0].resource`. A list's
    /// index is that of the item being read; `exact` is false for the
    /// parser's errors, which may lie before the innermost list's next
    /// item (the parser reads ahead of its events), so that index is left out.
    fn path(&self, exact: bool) -> String {
        let mut segments = Vec::new();
        for (i, open) in self.stack.iter().enumerate() {
            match open {
                Open::Seq { .. } if !exact && i + 1 == self.stack.len() => {}
                Open::Seq { items, .. } => segments.push(format!("[{}]", items.len())),
                Open::Map { key: Some((k, _)), .. } => segments.push(format!(".{}", short(k))),
                Open::Map { key: None, .. } => {}
            }
        }
        // Deep nesting makes long paths: keep about their last 80 characters.
        let mut len = 0;
        let keep = segments
            .iter()
            .rev()
            .take_while(|s| {
                len += s.chars().count();
                len <= 80
            })
            .count();
        let kept: String = segments
            .iter()
            .skip(segments.len() - keep)
            .map(String::as_str)
            .collect();
        let kept = kept.strip_prefix('.').unwrap_or(&kept);
        if keep < segments.len() {
            format!("…{kept}")
        } else {
            kept.to_owned()
        }
    }

    /// `at` is `line N` or `line N, column C` (1-based).
    fn message(&self, at: String, exact: bool, msg: impl fmt::Display) -> String {
        let path = self.path(exact);
        if path.is_empty() {
            format!("YAML syntax error at {at}: {msg}")
        } else {
            format!("YAML syntax error at {at} (in `{path}`): {msg}")
        }
    }

    fn err(&self, line: usize, msg: impl fmt::Display) -> String {
        self.message(format!("line {}", line + 1), true, msg)
    }

    /// A parser error in the parser's words, with a hint for the
    /// mistakes people make in manifests.
    fn scan_error(&self, e: &ScanError) -> String {
        let at = format!("line {}, column {}", e.marker().line(), e.marker().col() + 1);
        let hint = match e.kind() {
            ErrorKind::RecursionLimitExceeded => {
                return self.message(at, false, format!("the document nests deeper than {MAX_DEPTH} levels"))
            }
            ErrorKind::TabInIndentation | ErrorKind::TabInBlockIndentation => "; YAML indents with spaces only",
            ErrorKind::ExpectedBlockMappingKey | ErrorKind::ExpectedDocumentStart | ErrorKind::SimpleKeyExpected => {
                "; check the indentation"
            }
            ErrorKind::MappingValueNotAllowed => "; quote a value that holds `: `, or check the indentation",
            ErrorKind::BlockSequenceEntryNotAllowed => "; put a `- ` list on the lines below its key",
            _ => "",
        };
        self.message(at, false, format!("{}{hint}", e.info()))
    }
}
