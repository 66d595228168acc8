//! A small, bounded element tree over quick-xml: enough for GENIUS files, and safe on hostile input.

use quick_xml::Reader;
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

fn start(e: &BytesStart<'_>) -> Result<Element, String> {
    let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
    let mut attrs = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|err| format!("bad attribute in <{name}>: {err}"))?;
        let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
        let value = a
            .unescape_value()
            .map_err(|err| format!("bad value of attribute {key} in <{name}>: {err}"))?
            .into_owned();
        attrs.push((key, value));
    }
    Ok(Element {
        name,
        attrs,
        children: Vec::new(),
    })
}

/// Parses a document to its root element; errors are human sentences with the byte position.
pub fn parse(text: &str) -> Result<Element, String> {
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut elements = 0usize;
    loop {
        let pos = reader.buffer_position();
        let ev = reader
            .read_event()
            .map_err(|e| format!("malformed XML near byte {pos}: {e}"))?;
        match ev {
            Event::Start(_) | Event::Empty(_) if root.is_some() && stack.is_empty() => {
                return Err(format!("more than one root element (near byte {pos})"));
            }
            Event::Start(e) => {
                elements += 1;
                if elements > ELEMENTS_MAX || stack.len() >= DEPTH_MAX {
                    return Err(format!("document too large or too deep (near byte {pos})"));
                }
                stack.push(start(&e)?);
            }
            Event::Empty(e) => {
                elements += 1;
                if elements > ELEMENTS_MAX {
                    return Err(format!("document too large (near byte {pos})"));
                }
                let el = start(&e)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::End(e) => {
                let Some(el) = stack.pop() else {
                    return Err(format!("unexpected closing tag near byte {pos}"));
                };
                if e.name().as_ref() != el.name.as_bytes() {
                    return Err(format!(
                        "closing tag </{}> does not match <{}> near byte {pos}",
                        String::from_utf8_lossy(e.name().as_ref()),
                        el.name
                    ));
                }
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::Eof => break,
            Event::Text(t) if stack.is_empty() && !t.iter().all(u8::is_ascii_whitespace) => {
                return Err(format!("text outside the root element near byte {pos}"));
            }
            _ => {}
        }
    }
    if let Some(open) = stack.last() {
        return Err(format!(
            "unclosed element <{}> at end of document",
            open.name
        ));
    }
    root.ok_or_else(|| "no root element".to_string())
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
