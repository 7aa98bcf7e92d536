//! The UI's TypeScript types (`ui/src/lib/types.ts`) are generated from the Rust types the
//! screens send and receive, so the two cannot drift: this test fails when the file is stale,
//! and `KABINET_WRITE_UI_TYPES=1 cargo test -p kabinet-tests --test ui_types` rewrites it.

use std::any::TypeId;
use std::collections::{BTreeMap, HashSet};
use ts_rs::{Config, TS, TypeVisitor};

/// Every type reachable from the roots, declared once, by name.
struct Declarations<'a> {
    cfg: &'a Config,
    decls: BTreeMap<String, String>,
    /// Types already visited (some, like JSON values, contain themselves).
    seen: HashSet<TypeId>,
}

impl TypeVisitor for Declarations<'_> {
    fn visit<T: TS + 'static + ?Sized>(&mut self) {
        if !self.seen.insert(TypeId::of::<T>()) {
            return;
        }
        // Built-in types (strings, arrays, options…) have no file of their own: only their
        // parameters are declared.
        if T::output_path().is_some() {
            let docs = T::docs().unwrap_or_default();
            self.decls.insert(
                T::ident(self.cfg),
                format!("{docs}export {}", T::decl(self.cfg)),
            );
        }
        T::visit_dependencies(self);
        T::visit_generics(self);
    }
}

fn generated() -> String {
    // JSON numbers: the UI never sees an integer beyond 2^53.
    let cfg = Config::new().with_large_int("number");
    let mut d = Declarations {
        cfg: &cfg,
        decls: BTreeMap::new(),
        seen: HashSet::new(),
    };
    // What the screens send and receive over Tauri and HTTP.
    d.visit::<kabinet_service::Call>();
    d.visit::<kabinet_service::Request>();
    d.visit::<kabinet_service::ErrorBody>();
    kabinet_service::Response::visit_answer_types(&mut d);
    // The app shell's own commands (setup, login, the sync bar).
    d.visit::<kabinet_device::AppStatus>();
    d.visit::<kabinet_device::SyncView>();
    // The hub admin's screens.
    d.visit::<kabinet_hub::UserRecord>();
    d.visit::<kabinet_hub::staff::NewUser>();
    d.visit::<kabinet_hub::staff::UserAction>();
    d.visit::<kabinet_hub::AuditFilter>();
    d.visit::<kabinet_hub::AuditRow>();

    let mut out = String::from(
        "// Generated from the Rust types by tests/tests/ui_types.rs; do not edit.\n\
         // KABINET_WRITE_UI_TYPES=1 cargo test -p kabinet-tests --test ui_types\n\n",
    );
    for decl in d.decls.values() {
        out.push_str(decl.trim_end());
        out.push_str("\n\n");
    }
    out.push_str(
        "/** Each operation's answer, by the operation's name (`Request[\"op\"]`). */\n\
         export type Responses = {\n",
    );
    for (op, answer) in kabinet_service::Response::typescript_answers(&cfg) {
        out.push_str(&format!("  {op}: {answer};\n"));
    }
    out.push_str("};\n");
    out
}

#[test]
fn every_operation_has_a_typed_answer() {
    use strum::VariantNames;
    let answered: Vec<&str> = kabinet_service::Response::typescript_answers(&Config::new())
        .into_iter()
        .map(|(op, _)| op)
        .collect();
    for op in kabinet_service::Request::VARIANTS {
        assert!(answered.contains(op), "{op} has no answer type");
    }
    assert_eq!(answered.len(), kabinet_service::Request::VARIANTS.len());
}

#[test]
fn the_ui_types_are_generated_from_the_rust_types() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../ui/src/lib/types.ts");
    let want = generated();
    if std::env::var_os("KABINET_WRITE_UI_TYPES").is_some() {
        std::fs::write(path, &want).unwrap();
        return;
    }
    let have = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        have == want,
        "ui/src/lib/types.ts is stale: run KABINET_WRITE_UI_TYPES=1 cargo test -p kabinet-tests --test ui_types"
    );
}
