//! A small, bounded element tree over quick-xml: enough for GENIUS files, and safe on hostile input.

use quick_xml::Reader;
use quick_xml::escape::unescape;
use quick_xml::events::{BytesStart, Event};

/// Most elements one document may hold.
pub const ELEMENTS_MAX: usize = 2_000_000;
/// Deepest nesting accepted.
pub const DEPTH_MAX: usize = 64;

/// An element: its name, attributes and child elements (text is ignored: GENIUS keeps data in attributes).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Element {
    /// Tag name.
    pub name: String,
    /// Attributes in document order.
    pub attrs: Vec<(String, String)>,
    /// Child elements.
    pub children: Vec<Element>,
}

impl Element {
    /// The value of an attribute.
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Direct children with this tag.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// Every descendant (depth first, self included) with this tag.
    pub fn descendants_named<'a>(&'a self, name: &str, out: &mut Vec<&'a Element>) {
        if self.name == name {
            out.push(self);
        }
        for c in &self.children {
            c.descendants_named(name, out);
        }
    }

    /// The first descendant with this tag.
    pub fn find(&self, name: &str) -> Option<&Element> {
        if self.name == name {
            return Some(self);
        }
        self.children.iter().find_map(|c| c.find(name))
    }
}

/// A span of [`Doc::text`].
type Span = (u32, u32);

/// One element of a [`Doc`], in document (pre-)order.
#[derive(Clone, Copy, Debug)]
struct Node {
    name: Span,
    /// Range of `Doc::attrs`.
    attrs: (u32, u32),
    /// One past the last node of this element's subtree.
    end: u32,
}

/// A parsed document held flat: every element in document order, its name and attributes interned in one
/// string buffer. Parsing allocates a handful of growing vectors, not one string per name and value.
#[derive(Clone, Debug, Default)]
pub struct Doc {
    text: String,
    nodes: Vec<Node>,
    attrs: Vec<(Span, Span)>,
}

/// An element of a [`Doc`].
#[derive(Clone, Copy, Debug)]
pub struct El<'d> {
    doc: &'d Doc,
    at: u32,
}

impl Doc {
    /// The root element.
    pub fn root(&self) -> El<'_> {
        El { doc: self, at: 0 }
    }

    fn str(&self, s: Span) -> &str {
        self.text.get(s.0 as usize..s.1 as usize).unwrap_or("")
    }

    fn intern(&mut self, bytes: &str) -> Span {
        #[allow(clippy::cast_possible_truncation)]
        let start = self.text.len() as u32;
        self.text.push_str(bytes);
        #[allow(clippy::cast_possible_truncation)]
        let end = self.text.len() as u32;
        (start, end)
    }

    /// Converts to the owned [`Element`] tree.
    pub fn to_element(&self) -> Element {
        fn build(e: El<'_>) -> Element {
            Element {
                name: e.name().to_string(),
                attrs: e
                    .attrs()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                children: e.children().map(build).collect(),
            }
        }
        build(self.root())
    }
}

impl<'d> El<'d> {
    fn node(&self) -> Node {
        self.doc.nodes[self.at as usize]
    }

    /// Tag name.
    pub fn name(&self) -> &'d str {
        self.doc.str(self.node().name)
    }

    /// Attributes in document order.
    pub fn attrs(&self) -> impl Iterator<Item = (&'d str, &'d str)> + 'd {
        let doc = self.doc;
        let (a, b) = self.node().attrs;
        doc.attrs[a as usize..b as usize]
            .iter()
            .map(move |&(k, v)| (doc.str(k), doc.str(v)))
    }

    /// The value of an attribute.
    pub fn attr(&self, key: &str) -> Option<&'d str> {
        self.attrs().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// Direct children.
    pub fn children(&self) -> impl Iterator<Item = El<'d>> + 'd {
        let doc = self.doc;
        let end = self.node().end;
        let mut next = self.at + 1;
        std::iter::from_fn(move || {
            if next >= end {
                return None;
            }
            let at = next;
            next = doc.nodes[at as usize].end;
            Some(El { doc, at })
        })
    }

    /// Direct children with this tag.
    pub fn children_named<'a>(&self, name: &'a str) -> impl Iterator<Item = El<'d>> + 'a
    where
        'd: 'a,
    {
        self.children().filter(move |c| c.name() == name)
    }

    /// Every descendant, in document order, self included.
    pub fn descendants(&self) -> impl Iterator<Item = El<'d>> + 'd {
        let doc = self.doc;
        (self.at..self.node().end).map(move |at| El { doc, at })
    }

    /// Every descendant (document order, self included) with this tag.
    pub fn descendants_named<'a>(&self, name: &'a str) -> impl Iterator<Item = El<'d>> + 'a
    where
        'd: 'a,
    {
        let doc = self.doc;
        (self.at..self.node().end)
            .map(move |at| El { doc, at })
            .filter(move |e| e.name() == name)
    }

    /// The first descendant (document order, self included) with this tag.
    pub fn find(&self, name: &str) -> Option<El<'d>> {
        self.descendants_named(name).next()
    }
}

/// Parses a document to its root element; errors are human sentences with the byte position.
pub fn parse(text: &str) -> Result<Element, String> {
    parse_doc(text).map(|d| d.to_element())
}

/// Parses a document into a flat [`Doc`]; errors are human sentences with the byte position.
pub fn parse_doc(text: &str) -> Result<Doc, String> {
    if text.len() >= u32::MAX as usize {
        return Err("document too large".to_string());
    }
    let mut reader = Reader::from_str(text);
    let mut doc = Doc {
        text: String::with_capacity(text.len() / 2),
        nodes: Vec::with_capacity(text.len() / 64 + 1),
        attrs: Vec::with_capacity(text.len() / 24 + 1),
    };
    // Open elements, by node index.
    let mut stack: Vec<u32> = Vec::new();
    let mut rooted = false;
    loop {
        let pos = reader.buffer_position();
        let ev = reader
            .read_event()
            .map_err(|e| format!("malformed XML near byte {pos}: {e}"))?;
        match ev {
            Event::Start(_) | Event::Empty(_) if rooted && stack.is_empty() => {
                return Err(format!("more than one root element (near byte {pos})"));
            }
            Event::Start(e) => {
                if doc.nodes.len() >= ELEMENTS_MAX || stack.len() >= DEPTH_MAX {
                    return Err(format!("document too large or too deep (near byte {pos})"));
                }
                rooted = true;
                stack.push(start(&mut doc, text, &e)?);
            }
            Event::Empty(e) => {
                if doc.nodes.len() >= ELEMENTS_MAX {
                    return Err(format!("document too large (near byte {pos})"));
                }
                rooted = true;
                let at = start(&mut doc, text, &e)?;
                doc.nodes[at as usize].end = at + 1;
            }
            Event::End(e) => {
                let Some(at) = stack.pop() else {
                    return Err(format!("unexpected closing tag near byte {pos}"));
                };
                let node = doc.nodes[at as usize];
                if e.name().as_ref() != doc.str(node.name).as_bytes() {
                    return Err(format!(
                        "closing tag </{}> does not match <{}> near byte {pos}",
                        String::from_utf8_lossy(e.name().as_ref()),
                        doc.str(node.name)
                    ));
                }
                #[allow(clippy::cast_possible_truncation)]
                let end = doc.nodes.len() as u32;
                doc.nodes[at as usize].end = end;
            }
            Event::Eof => break,
            Event::Text(t) if stack.is_empty() && !t.iter().all(u8::is_ascii_whitespace) => {
                return Err(format!("text outside the root element near byte {pos}"));
            }
            _ => {}
        }
    }
    if let Some(&open) = stack.last() {
        return Err(format!(
            "unclosed element <{}> at end of document",
            doc.str(doc.nodes[open as usize].name)
        ));
    }
    if doc.nodes.is_empty() {
        return Err("no root element".to_string());
    }
    Ok(doc)
}

/// Appends an element (its subtree end still to be set) and returns its index.
fn start(doc: &mut Doc, text: &str, e: &BytesStart<'_>) -> Result<u32, String> {
    let raw = e.name();
    let name = std::str::from_utf8(raw.as_ref()).map_err(|_| {
        format!(
            "element name {:?} is not UTF-8",
            String::from_utf8_lossy(raw.as_ref())
        )
    })?;
    let name = doc.intern(name);
    #[allow(clippy::cast_possible_truncation)]
    let first = doc.attrs.len() as u32;
    attributes(doc, text, e.attributes_raw(), name, first)?;
    #[allow(clippy::cast_possible_truncation)]
    let last = doc.attrs.len() as u32;
    #[allow(clippy::cast_possible_truncation)]
    let at = doc.nodes.len() as u32;
    doc.nodes.push(Node {
        name,
        attrs: (first, last),
        end: at + 1,
    });
    Ok(at)
}

/// Parses the attributes of a start tag (the bytes after its name): `name = "value"` or `name = 'value'`
/// pairs separated by white space; values are unescaped; a repeated name is an error, as XML requires.
fn attributes(
    doc: &mut Doc,
    text: &str,
    raw: &[u8],
    element: Span,
    first: u32,
) -> Result<(), String> {
    // `raw` normally lies inside `text`: its pieces, cut at ASCII delimiters, are then text slices already
    // checked as UTF-8; otherwise (or should a cut not fall on a character boundary) they are checked here.
    let base = (raw.as_ptr() as usize)
        .checked_sub(text.as_ptr() as usize)
        .filter(|off| off.saturating_add(raw.len()) <= text.len());
    let piece = |a: usize, b: usize| -> Option<&str> {
        match base {
            Some(off) => text.get(off + a..off + b),
            None => None,
        }
        .or_else(|| std::str::from_utf8(raw.get(a..b)?).ok())
    };
    let bad = |doc: &Doc, what: &str| format!("bad attribute in <{}>: {what}", doc.str(element));
    let mut i = 0;
    let n = raw.len();
    loop {
        while i < n && raw[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= n {
            return Ok(());
        }
        if i > 0 && !raw[i - 1].is_ascii_whitespace() {
            return Err(bad(doc, "attributes must be separated by white space"));
        }
        let k0 = i;
        while i < n && !raw[i].is_ascii_whitespace() && raw[i] != b'=' {
            i += 1;
        }
        let key = &raw[k0..i];
        let k1 = i;
        while i < n && raw[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= n || raw[i] != b'=' {
            return Err(bad(
                doc,
                &format!("{:?} has no value", String::from_utf8_lossy(key)),
            ));
        }
        i += 1;
        while i < n && raw[i].is_ascii_whitespace() {
            i += 1;
        }
        let quote = match raw.get(i) {
            Some(&q) if q == b'"' || q == b'\'' => q,
            _ => {
                return Err(bad(
                    doc,
                    &format!(
                        "the value of {:?} is not quoted",
                        String::from_utf8_lossy(key)
                    ),
                ));
            }
        };
        i += 1;
        let v0 = i;
        while i < n && raw[i] != quote {
            i += 1;
        }
        if i >= n {
            return Err(bad(
                doc,
                &format!(
                    "the value of {:?} is not closed",
                    String::from_utf8_lossy(key)
                ),
            ));
        }
        let v1 = i;
        i += 1;
        let (Some(key), Some(value)) = (piece(k0, k1), piece(v0, v1)) else {
            return Err(bad(doc, "not UTF-8"));
        };
        if key.is_empty() || value.contains('<') {
            return Err(bad(doc, &format!("{key:?}")));
        }
        let dup = doc.attrs[first as usize..]
            .iter()
            .any(|&(k, _)| doc.str(k) == key);
        if dup {
            return Err(bad(doc, &format!("{key:?} appears twice")));
        }
        let k = doc.intern(key);
        let v = if value.contains('&') {
            let un = unescape(value).map_err(|err| {
                format!(
                    "bad value of attribute {key} in <{}>: {err}",
                    doc.str(element)
                )
            })?;
            doc.intern(&un)
        } else {
            doc.intern(value)
        };
        doc.attrs.push((k, v));
    }
}

/// Escapes text for an attribute value.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            _ => out.push(c),
        }
    }
    out
}
