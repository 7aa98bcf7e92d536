//! Drafts of forms: an unfinished visit kept in the encrypted store so it survives a restart.
//!
//! A draft belongs to the user who typed it: its key is prefixed with their sign-in name, so
//! that on a shared tablet or at the hub nobody else finds it. A draft may hold anything the
//! writer's role may record (an HIV result, typed but not yet saved), and nobody checks its
//! content, so it carries the sensitive classes its writer could write; loading it needs the
//! right to read each of them (a user whose role changed since does not get it back).

use crate::{Context, ServiceError};
use kabinet_core::AccessClass;
use kabinet_store::meta::DRAFT_PREFIX;
use kabinet_store::{Origin, Store};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What one draft may weigh: a visit form with its notes is a few kilobytes.
const MAX_BYTES: usize = 64 * 1024;

#[derive(Serialize, Deserialize)]
struct Stored {
    /// The sensitive classes the writer could record when it was saved.
    classes: Vec<AccessClass>,
    value: Value,
}

/// `draft.<login>/<key>`: the owner's sign-in name first, so one user's drafts never meet
/// another's key. Sign-in names hold no `/`.
fn meta_key(ctx: &Context, key: &str) -> Result<String, ServiceError> {
    if ctx.login.is_empty() || ctx.login.contains('/') {
        return Err(ServiceError::Forbidden);
    }
    Ok(format!("{DRAFT_PREFIX}{}/{key}", ctx.login))
}

/// Who may keep a draft: someone who may record a visit (general data) at all.
fn may_draft(ctx: &Context) -> Result<(), ServiceError> {
    if ctx.can_write(AccessClass::General) {
        Ok(())
    } else {
        Err(ServiceError::Forbidden)
    }
}

pub fn save(store: &mut Store, ctx: &Context, key: &str, value: Value) -> Result<(), ServiceError> {
    may_draft(ctx)?;
    let stored = Stored {
        classes: AccessClass::ALL
            .iter()
            .copied()
            .filter(|c| *c != AccessClass::General && ctx.can_write(*c))
            .collect(),
        value,
    };
    let text = serde_json::to_string(&stored).expect("a JSON value serializes");
    if text.len() > MAX_BYTES {
        return Err(ServiceError::BadRequest(format!(
            "a draft may hold at most {MAX_BYTES} bytes"
        )));
    }
    let key = meta_key(ctx, key)?;
    store.write(Origin::Local, |w| w.set_meta(&key, &text))?;
    Ok(())
}

/// The caller's own draft, if they may still read everything it may hold.
pub fn load(store: &Store, ctx: &Context, key: &str) -> Result<Option<Value>, ServiceError> {
    may_draft(ctx)?;
    let Some(text) = store.meta(&meta_key(ctx, key)?)? else {
        return Ok(None);
    };
    Ok(serde_json::from_str::<Stored>(&text)
        .ok()
        .filter(|d| d.classes.iter().all(|c| ctx.can_read(*c)))
        .map(|d| d.value))
}

pub fn delete(store: &mut Store, ctx: &Context, key: &str) -> Result<(), ServiceError> {
    let key = meta_key(ctx, key)?;
    store.write(Origin::Local, |w| w.delete_meta(&key))?;
    Ok(())
}
