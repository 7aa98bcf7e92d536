//! The bridge between core's records (through serde) and Automerge documents.
//!
//! Core knows nothing of Automerge, so a record is turned into JSON and reconciled into its
//! document field by field: only what changed becomes an operation, which keeps incremental
//! saves small and lets concurrent edits of different fields merge. Lists are edited from the
//! first differing element on, so an appended status change is an insert, not a rewrite, and
//! two devices appending concurrently both keep their entries.

use automerge::legacy::{ElementId, Key, ObjectId, Op, OpId, OpType, SortedVec};
use automerge::transaction::Transactable;
use automerge::{
    ActorId, AutoCommit, Change, ChangeHash, ExpandedChange, ObjId, ObjType, ROOT, ReadDoc,
    ScalarValue, Value,
};
use serde_json::{Map, Number, Value as Json};
use std::num::NonZeroU64;

/// Errors of the bridge; they mean a document does not have the shape of a record.
#[derive(Debug, thiserror::Error)]
pub enum DocError {
    #[error("automerge: {0}")]
    Automerge(Box<automerge::AutomergeError>),
    #[error("a record must be a JSON object at its root")]
    NotAnObject,
}

impl From<automerge::AutomergeError> for DocError {
    fn from(e: automerge::AutomergeError) -> Self {
        DocError::Automerge(Box::new(e))
    }
}

/// Reads a whole document as JSON. Where a field has concurrent values, Automerge's winner is
/// taken (the same on every device); see [`conflicts`] to find such fields.
pub fn to_json(doc: &AutoCommit) -> Result<Json, DocError> {
    read_obj(doc, &ROOT, ObjType::Map)
}

fn read_obj(doc: &AutoCommit, obj: &ObjId, ty: ObjType) -> Result<Json, DocError> {
    match ty {
        ObjType::Map | ObjType::Table => {
            let mut map = Map::new();
            for key in doc.keys(obj) {
                if let Some((value, id)) = doc.get(obj, key.as_str())? {
                    map.insert(key, read_value(doc, value, &id)?);
                }
            }
            Ok(Json::Object(map))
        }
        ObjType::List => {
            let mut list = Vec::new();
            for i in 0..doc.length(obj) {
                if let Some((value, id)) = doc.get(obj, i)? {
                    list.push(read_value(doc, value, &id)?);
                }
            }
            Ok(Json::Array(list))
        }
        ObjType::Text => Ok(Json::String(doc.text(obj)?)),
    }
}

fn read_value(doc: &AutoCommit, value: Value<'_>, id: &ObjId) -> Result<Json, DocError> {
    Ok(match value {
        Value::Object(ty) => read_obj(doc, id, ty)?,
        Value::Scalar(s) => match s.as_ref() {
            ScalarValue::Str(s) => Json::String(s.to_string()),
            ScalarValue::Int(i) => Json::Number((*i).into()),
            ScalarValue::Uint(u) => Json::Number((*u).into()),
            ScalarValue::F64(f) => Number::from_f64(*f).map_or(Json::Null, Json::Number),
            ScalarValue::Boolean(b) => Json::Bool(*b),
            ScalarValue::Timestamp(t) => Json::Number((*t).into()),
            ScalarValue::Counter(c) => Json::Number(i64::from(c).into()),
            ScalarValue::Null | ScalarValue::Bytes(_) | ScalarValue::Unknown { .. } => Json::Null,
        },
    })
}

fn scalar(value: &Json) -> Option<ScalarValue> {
    Some(match value {
        Json::Null => ScalarValue::Null,
        Json::Bool(b) => ScalarValue::Boolean(*b),
        Json::String(s) => ScalarValue::Str(s.as_str().into()),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                ScalarValue::Int(i)
            } else if let Some(u) = n.as_u64() {
                ScalarValue::Uint(u)
            } else {
                ScalarValue::F64(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Json::Array(_) | Json::Object(_) => return None,
    })
}

/// Makes the document equal to `new`, given that it currently reads as `old` (from
/// [`to_json`]). Emits operations only for what differs.
pub fn reconcile(doc: &mut AutoCommit, old: &Json, new: &Json) -> Result<(), DocError> {
    let (Json::Object(old), Json::Object(new)) = (old, new) else {
        return Err(DocError::NotAnObject);
    };
    reconcile_map(doc, &ROOT, old, new)
}

fn reconcile_map(
    doc: &mut AutoCommit,
    obj: &ObjId,
    old: &Map<String, Json>,
    new: &Map<String, Json>,
) -> Result<(), DocError> {
    for key in old.keys() {
        if !new.contains_key(key) {
            doc.delete(obj, key.as_str())?;
        }
    }
    for (key, value) in new {
        let before = old.get(key);
        if before == Some(value) {
            continue;
        }
        match (before, value) {
            (Some(Json::Object(a)), Json::Object(b)) => {
                if let Some((Value::Object(ObjType::Map), id)) = doc.get(obj, key.as_str())? {
                    reconcile_map(doc, &id, a, b)?;
                    continue;
                }
                put_new(doc, obj, key, value)?;
            }
            (Some(Json::Array(a)), Json::Array(b)) => {
                if let Some((Value::Object(ObjType::List), id)) = doc.get(obj, key.as_str())? {
                    reconcile_list(doc, &id, a, b)?;
                    continue;
                }
                put_new(doc, obj, key, value)?;
            }
            _ => put_new(doc, obj, key, value)?,
        }
    }
    Ok(())
}

fn reconcile_list(
    doc: &mut AutoCommit,
    obj: &ObjId,
    old: &[Json],
    new: &[Json],
) -> Result<(), DocError> {
    let same = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    // Drop the old tail from the first difference, then insert the new tail: appends (the
    // common case: status history) touch nothing that was there.
    for i in (same..old.len()).rev() {
        doc.delete(obj, i)?;
    }
    for (i, value) in new.iter().enumerate().skip(same) {
        insert_new(doc, obj, i, value)?;
    }
    Ok(())
}

fn put_new(doc: &mut AutoCommit, obj: &ObjId, key: &str, value: &Json) -> Result<(), DocError> {
    match value {
        Json::Object(m) => {
            let id = doc.put_object(obj, key, ObjType::Map)?;
            fill_map(doc, &id, m)
        }
        Json::Array(items) => {
            let id = doc.put_object(obj, key, ObjType::List)?;
            fill_list(doc, &id, items)
        }
        v => {
            doc.put(obj, key, scalar(v).expect("scalar"))?;
            Ok(())
        }
    }
}

fn insert_new(
    doc: &mut AutoCommit,
    obj: &ObjId,
    index: usize,
    value: &Json,
) -> Result<(), DocError> {
    match value {
        Json::Object(m) => {
            let id = doc.insert_object(obj, index, ObjType::Map)?;
            fill_map(doc, &id, m)
        }
        Json::Array(items) => {
            let id = doc.insert_object(obj, index, ObjType::List)?;
            fill_list(doc, &id, items)
        }
        v => {
            doc.insert(obj, index, scalar(v).expect("scalar"))?;
            Ok(())
        }
    }
}

fn fill_map(doc: &mut AutoCommit, obj: &ObjId, map: &Map<String, Json>) -> Result<(), DocError> {
    for (k, v) in map {
        put_new(doc, obj, k, v)?;
    }
    Ok(())
}

fn fill_list(doc: &mut AutoCommit, obj: &ObjId, items: &[Json]) -> Result<(), DocError> {
    for (i, v) in items.iter().enumerate() {
        insert_new(doc, obj, i, v)?;
    }
    Ok(())
}

/// Encodes a new document holding `record` as its first change, straight from the JSON.
///
/// Same result as reconciling into an empty `AutoCommit` (a test checks it), but without
/// building Automerge's in-memory op set: ~4 µs instead of ~150 µs for a visit, which is what
/// makes importing thousands of records fast. The bytes load with `AutoCommit::load`.
pub fn encode_new(
    record: &Json,
    actor: &ActorId,
    time_ms: i64,
) -> Result<(Vec<u8>, ChangeHash), DocError> {
    let Json::Object(map) = record else {
        return Err(DocError::NotAnObject);
    };
    let mut ops = Vec::new();
    encode_map(&mut ops, actor, ObjectId::Root, map);
    let change = ExpandedChange {
        operations: ops,
        actor_id: actor.clone(),
        hash: None,
        seq: 1,
        start_op: NonZeroU64::MIN,
        time: time_ms,
        message: None,
        deps: Vec::new(),
        extra_bytes: Vec::new(),
        author: None,
    };
    let change = Change::from(change);
    // Uncompressed: DEFLATE of a few hundred bytes costs more time (zlib set-up) than it saves
    // space.
    Ok((change.raw_bytes().to_vec(), change.hash()))
}

/// The inverse of [`encode_new`]: if `bytes` are exactly one change that creates a document
/// (no dependencies, only puts and inserts into fresh objects), its JSON and hash, read
/// straight from the change without building an op set. Anything else gives `None`, and the
/// caller loads the bytes the general way (which also reports what is wrong with them).
pub fn decode_new(bytes: &[u8]) -> Option<(Json, ChangeHash)> {
    // A malformed change must never take a hub down: any panic inside the decoder is a "no".
    std::panic::catch_unwind(|| decode_new_inner(bytes))
        .ok()
        .flatten()
}

/// The head of a document created in one change, for a document whose content is not read
/// on arrival (sensitive results have no query table): `bytes` are checked to be exactly one
/// valid change with no dependencies, whose hash is then the document's only head. Nothing
/// of its operations is expanded, which is most of [`decode_new`]'s work. `None`: load the
/// bytes the general way.
pub fn verify_new(bytes: &[u8]) -> Option<ChangeHash> {
    std::panic::catch_unwind(|| {
        let change = Change::try_from(bytes).ok()?;
        (change.raw_bytes().len() == bytes.len() && change.deps().is_empty() && change.seq() == 1)
            .then(|| change.hash())
    })
    .ok()
    .flatten()
}

fn decode_new_inner(bytes: &[u8]) -> Option<(Json, ChangeHash)> {
    enum Node {
        Map(Vec<(String, usize)>),
        List(Vec<usize>),
        Value(Json),
    }
    let change = Change::from_bytes(bytes.to_vec()).ok()?;
    if change.raw_bytes().len() != bytes.len() || !change.deps().is_empty() || change.seq() != 1 {
        return None;
    }
    let expanded = ExpandedChange::from(&change);
    let mut nodes = vec![Node::Map(Vec::new())];
    // Object op id → node; list element op id → position in its list.
    let mut objects: std::collections::HashMap<OpId, usize> = std::collections::HashMap::new();
    let mut elements: std::collections::HashMap<OpId, usize> = std::collections::HashMap::new();
    for (i, op) in expanded.operations.iter().enumerate() {
        if !op.pred.is_empty() {
            return None;
        }
        let id = OpId::new(expanded.start_op.get() + i as u64, &expanded.actor_id);
        let parent = match &op.obj {
            ObjectId::Root => 0,
            ObjectId::Id(o) => *objects.get(o)?,
        };
        let child = nodes.len();
        nodes.push(match &op.action {
            OpType::Make(ObjType::Map) => Node::Map(Vec::new()),
            OpType::Make(ObjType::List) => Node::List(Vec::new()),
            OpType::Put(v) => Node::Value(match v {
                ScalarValue::Str(s) => Json::String(s.to_string()),
                ScalarValue::Int(i) => Json::Number((*i).into()),
                ScalarValue::Uint(u) => Json::Number((*u).into()),
                ScalarValue::F64(f) => Number::from_f64(*f).map_or(Json::Null, Json::Number),
                ScalarValue::Boolean(b) => Json::Bool(*b),
                ScalarValue::Null => Json::Null,
                _ => return None,
            }),
            _ => return None,
        });
        if matches!(op.action, OpType::Make(_)) {
            objects.insert(id.clone(), child);
        }
        match (&mut nodes[parent], &op.key, op.insert) {
            (Node::Map(entries), Key::Map(k), false) => {
                if entries.iter().any(|(e, _)| e == k.as_str()) {
                    return None;
                }
                entries.push((k.to_string(), child));
            }
            (Node::List(items), Key::Seq(after), true) => {
                // Only appends, in order: each insert follows the previous element.
                let expected_after = match after {
                    ElementId::Head => items.is_empty(),
                    ElementId::Id(prev) => {
                        elements.get(prev) == Some(&(items.len().wrapping_sub(1)))
                    }
                };
                if !expected_after {
                    return None;
                }
                elements.insert(id, items.len());
                items.push(child);
            }
            _ => return None,
        }
    }
    fn build(nodes: &mut [Node], i: usize) -> Json {
        match std::mem::replace(&mut nodes[i], Node::Value(Json::Null)) {
            Node::Map(entries) => Json::Object(
                entries
                    .into_iter()
                    .map(|(k, c)| (k, build(nodes, c)))
                    .collect(),
            ),
            Node::List(items) => Json::Array(items.into_iter().map(|c| build(nodes, c)).collect()),
            Node::Value(v) => v,
        }
    }
    Some((build(&mut nodes, 0), change.hash()))
}

/// The id of the op about to be pushed: op counters start at 1 and follow the op order.
fn next_id(ops: &[Op], actor: &ActorId) -> OpId {
    OpId::new(ops.len() as u64 + 1, actor)
}

fn encode_value(
    ops: &mut Vec<Op>,
    actor: &ActorId,
    obj: ObjectId,
    key: Key,
    insert: bool,
    value: &Json,
) -> OpId {
    let id = next_id(ops, actor);
    let action = match value {
        Json::Object(_) => OpType::Make(ObjType::Map),
        Json::Array(_) => OpType::Make(ObjType::List),
        v => OpType::Put(scalar(v).expect("scalar")),
    };
    ops.push(Op {
        action,
        obj,
        key,
        pred: SortedVec::new(),
        insert,
    });
    match value {
        Json::Object(m) => encode_map(ops, actor, ObjectId::Id(id.clone()), m),
        Json::Array(items) => {
            let list = ObjectId::Id(id.clone());
            let mut prev = ElementId::Head;
            for item in items {
                let elem = encode_value(ops, actor, list.clone(), Key::Seq(prev), true, item);
                prev = ElementId::Id(elem);
            }
        }
        _ => {}
    }
    id
}

fn encode_map(ops: &mut Vec<Op>, actor: &ActorId, obj: ObjectId, map: &Map<String, Json>) {
    for (k, v) in map {
        encode_value(ops, actor, obj.clone(), Key::from(k), false, v);
    }
}

/// Paths of map fields that hold concurrent values (e.g. two devices set the same phone
/// offline). The UI flags them; the value read is the same everywhere.
pub fn conflicts(doc: &AutoCommit) -> Result<Vec<String>, DocError> {
    let mut out = Vec::new();
    walk_conflicts(doc, &ROOT, "", &mut out)?;
    Ok(out)
}

/// Each field with concurrent values and all its values (Automerge's winner last, as
/// [`to_json`] reads it): what a person reviews.
pub fn conflict_values(doc: &AutoCommit) -> Result<Vec<(String, Vec<Json>)>, DocError> {
    let mut out = Vec::new();
    for path in conflicts(doc)? {
        let (obj, key) = locate(doc, &path)?;
        let mut values = Vec::new();
        for (value, id) in doc.get_all(&obj, key.as_str())? {
            values.push(read_value(doc, value, &id)?);
        }
        out.push((path, values));
    }
    Ok(out)
}

/// Settles a field with concurrent values on `value`: one new operation that supersedes
/// every value seen, so every device that receives it reads one value again, even when
/// `value` is one of them (which a reconcile would leave untouched).
pub fn settle(doc: &mut AutoCommit, path: &str, value: &Json) -> Result<(), DocError> {
    let (obj, key) = locate(doc, path)?;
    put_new(doc, &obj, &key, value)
}

/// The map holding a dotted path's last key (each step the winner's map), and that key.
fn locate(doc: &AutoCommit, path: &str) -> Result<(ObjId, String), DocError> {
    let mut obj = ROOT;
    let mut steps: Vec<&str> = path.split('.').collect();
    let last = steps.pop().unwrap_or_default().to_string();
    for step in steps {
        match doc.get(&obj, step)? {
            Some((Value::Object(ObjType::Map), id)) => obj = id,
            _ => return Err(DocError::NotAnObject),
        }
    }
    Ok((obj, last))
}

fn walk_conflicts(
    doc: &AutoCommit,
    obj: &ObjId,
    path: &str,
    out: &mut Vec<String>,
) -> Result<(), DocError> {
    for key in doc.keys(obj) {
        let here = if path.is_empty() {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        let all = doc.get_all(obj, key.as_str())?;
        if all.len() > 1 {
            out.push(here.clone());
        }
        if let Some((Value::Object(ObjType::Map), id)) = all.last().cloned() {
            walk_conflicts(doc, &id, &here, out)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc_of(v: &Json) -> AutoCommit {
        let mut d = AutoCommit::new();
        reconcile(&mut d, &json!({}), v).unwrap();
        d
    }

    #[test]
    fn round_trips_nested_records() {
        let v = json!({"name": "Иван", "n": 3, "x": 7.5, "ok": true, "tags": ["a", {"b": 1}], "m": {"k": null}});
        let d = doc_of(&v);
        assert_eq!(to_json(&d).unwrap(), v);
    }

    fn arbitrary_json() -> impl proptest::strategy::Strategy<Value = Json> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Json::Null),
            any::<bool>().prop_map(Json::Bool),
            any::<i64>().prop_map(|i| json!(i)),
            (-1e9f64..1e9).prop_map(|f| json!(f)),
            "[a-zа-я ]{0,12}".prop_map(Json::String),
        ];
        leaf.prop_recursive(4, 40, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(Json::Array),
                proptest::collection::btree_map("[a-z_]{1,8}", inner, 0..6)
                    .prop_map(|m| Json::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        #[test]
        fn encoded_new_documents_read_back_as_the_record(
            record in proptest::collection::btree_map("[a-z_]{1,8}", arbitrary_json(), 0..8)
        ) {
            let record = Json::Object(record.into_iter().collect());
            let actor = ActorId::random();
            let (bytes, hash) = encode_new(&record, &actor, 0).unwrap();
            let mut loaded = AutoCommit::load(&bytes).unwrap();
            proptest::prop_assert_eq!(to_json(&loaded).unwrap(), record.clone());
            proptest::prop_assert_eq!(decode_new(&bytes), Some((record.clone(), hash)));
            proptest::prop_assert_eq!(loaded.get_heads(), vec![hash]);
            // And it merges with, and is edited like, a document built op by op.
            loaded.set_actor(actor);
            let mut edited = record.clone();
            edited.as_object_mut().unwrap().insert("zz_new".into(), json!("x"));
            reconcile(&mut loaded, &record, &edited).unwrap();
            proptest::prop_assert_eq!(to_json(&loaded).unwrap(), edited);
        }
    }

    #[test]
    fn verify_new_gives_the_head_decode_new_gives_and_declines_the_same() {
        let v = json!({"screenings": {"hiv": {"result": "non_reactive"}}, "n": [1, 2]});
        let mut d = doc_of(&v);
        d.commit();
        let first = d.save_after(&[]);
        assert_eq!(verify_new(&first), decode_new(&first).map(|(_, h)| h));
        assert_eq!(verify_new(&first), Some(d.get_heads()[0]));
        reconcile(&mut d, &v, &json!({"n": [1]})).unwrap();
        assert_eq!(verify_new(&d.save_after(&[])), None, "two changes");
        assert_eq!(verify_new(b"garbage"), None);
        let mut truncated = first.clone();
        truncated.pop();
        assert_eq!(verify_new(&truncated), None);
        let mut flipped = first.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 0x55;
        assert_eq!(verify_new(&flipped), None, "checksum");
    }

    #[test]
    fn decode_new_declines_what_is_not_a_single_creating_change() {
        let v = json!({"a": 1});
        let mut d = doc_of(&v);
        d.commit();
        let first = d.save_after(&[]);
        assert!(decode_new(&first).is_some());
        reconcile(&mut d, &v, &json!({"a": 2})).unwrap();
        assert_eq!(decode_new(&d.save_after(&[])), None, "two changes");
        assert_eq!(decode_new(b"garbage"), None);
        let mut truncated = first.clone();
        truncated.pop();
        assert_eq!(decode_new(&truncated), None);
    }

    #[test]
    fn an_unchanged_record_makes_no_change() {
        let v = json!({"a": 1, "h": [1, 2]});
        let mut d = doc_of(&v);
        let heads = d.get_heads();
        reconcile(&mut d, &v, &v).unwrap();
        d.commit();
        assert_eq!(d.get_heads(), heads);
    }

    #[test]
    fn concurrent_edits_of_different_fields_both_survive() {
        let base = json!({"given": "Иван", "phone": "1", "history": [{"s": "issued"}]});
        let mut a = doc_of(&base);
        let mut b = a.fork();
        reconcile(&mut a, &base, &json!({"given": "Ivan", "phone": "1", "history": [{"s": "issued"}, {"s": "attended"}]})).unwrap();
        reconcile(&mut b, &base, &json!({"given": "Иван", "phone": "2", "history": [{"s": "issued"}, {"s": "declined"}]})).unwrap();
        a.merge(&mut b).unwrap();
        let merged = to_json(&a).unwrap();
        assert_eq!(merged["given"], "Ivan");
        assert_eq!(merged["phone"], "2");
        assert_eq!(
            merged["history"].as_array().unwrap().len(),
            3,
            "both appends kept: {merged}"
        );
    }

    #[test]
    fn same_field_conflicts_are_detectable() {
        let base = json!({"phone": "1"});
        let mut a = doc_of(&base);
        let mut b = a.fork();
        reconcile(&mut a, &base, &json!({"phone": "2"})).unwrap();
        reconcile(&mut b, &base, &json!({"phone": "3"})).unwrap();
        a.merge(&mut b).unwrap();
        b.merge(&mut a).unwrap();
        assert_eq!(to_json(&a).unwrap(), to_json(&b).unwrap());
        assert_eq!(conflicts(&a).unwrap(), vec!["phone".to_string()]);
    }
}
