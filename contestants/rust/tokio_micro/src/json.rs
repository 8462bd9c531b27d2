//! json.rs: the little JSON the result files need (no serde in Debian's crate
//! set here), and writing a file atomically as common/jsonfile.c does.

use std::fmt::Write as _;
use std::io::Write as _;

#[derive(Clone)]
pub enum Json {
    Null,
    Bool(bool),
    Int(i64),
    Real(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    pub fn obj() -> Json {
        Json::Obj(Vec::new())
    }

    /// Adds key: value to an object (and returns it, to chain).
    pub fn set(mut self, key: &str, v: Json) -> Json {
        if let Json::Obj(ref mut fields) = self {
            fields.push((key.to_string(), v));
        }
        self
    }

    pub fn push(&mut self, key: &str, v: Json) {
        if let Json::Obj(ref mut fields) = self {
            fields.push((key.to_string(), v));
        }
    }

    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn render(&self) -> String {
        let mut s = String::new();
        self.write_to(&mut s);
        s
    }

    fn write_to(&self, s: &mut String) {
        match self {
            Json::Null => s.push_str("null"),
            Json::Bool(b) => s.push_str(if *b { "true" } else { "false" }),
            Json::Int(i) => {
                let _ = write!(s, "{i}");
            }
            // NaN and infinities are not JSON: a figure that could not be had is null.
            Json::Real(f) if !f.is_finite() => s.push_str("null"),
            Json::Real(f) => {
                let _ = write!(s, "{f:?}");
            }
            Json::Str(t) => quote(s, t),
            Json::Arr(items) => {
                s.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        s.push_str(", ");
                    }
                    v.write_to(s);
                }
                s.push(']');
            }
            Json::Obj(fields) => {
                s.push('{');
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        s.push_str(", ");
                    }
                    quote(s, k);
                    s.push_str(": ");
                    v.write_to(s);
                }
                s.push('}');
            }
        }
    }
}

fn quote(s: &mut String, t: &str) {
    s.push('"');
    for c in t.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            '\t' => s.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(s, "\\u{:04x}", c as u32);
            }
            c => s.push(c),
        }
    }
    s.push('"');
}

pub fn int<T: TryInto<i64>>(v: T) -> Json {
    v.try_into().map_or(Json::Null, Json::Int)
}

pub fn real(v: f64) -> Json {
    Json::Real(v)
}

pub fn string(v: &str) -> Json {
    Json::Str(v.to_string())
}

/// Writes doc to path through a temporary file in the same folder and a
/// rename, so that a reader never sees half a file. Err: the message.
pub fn write_file(path: &str, doc: &Json) -> Result<(), String> {
    let tmp = format!("{path}.tmp.{}", std::process::id());
    let text = doc.render() + "\n";
    let r = std::fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(text.as_bytes()).and_then(|_| f.sync_all()))
        .and_then(|_| std::fs::rename(&tmp, path));
    r.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("cannot write {path}: {e}")
    })
}

/// Writes doc to --json FILE when one was given; false (said on stderr) when
/// that failed.
pub fn write_asked(path: Option<&str>, doc: &Json) -> bool {
    match path {
        Some(path) => match write_file(path, doc) {
            Ok(()) => true,
            Err(e) => {
                eprintln!("{}: {e}", crate::PROG);
                false
            }
        },
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders() {
        let j = Json::obj()
            .set("a", int(1))
            .set("b", Json::Arr(vec![real(1.5), Json::Null, real(f64::NAN)]))
            .set("c\"", string("x\ny"))
            .set("d", real(2.0));
        assert_eq!(
            j.render(),
            "{\"a\": 1, \"b\": [1.5, null, null], \"c\\\"\": \"x\\ny\", \"d\": 2.0}"
        );
    }
}
