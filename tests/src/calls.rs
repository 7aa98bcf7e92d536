//! The service's calls as the stories make them: on a device's store as a named user (all
//! classes the device holds), at the hub's web API as a signed-in staff member, and a sync.

use chrono::Utc;
use kabinet_core::Lang;
use kabinet_service::{Call, Context, handle};
use kabinet_store::Store;
use serde_json::Value;

use crate::hub::HubProcess;

/// A call on a device's store as `user`: its answer as JSON; a refusal fails the test.
pub fn call_as(store: &mut Store, user: &str, request: Value) -> Value {
    let call: Call = serde_json::from_value(request).unwrap();
    let ctx = Context {
        lang: Lang::Bg,
        user: user.into(),
        login: user.into(),
        now: Utc::now(),
        roles: None,
    };
    let answer =
        handle(store, &ctx, call.request).unwrap_or_else(|e| panic!("{:?}", e.body(Lang::En)));
    serde_json::to_value(answer).unwrap()
}

/// One sync of a device with its hub.
pub fn sync(store: &mut Store) {
    kabinet_sync::sync(store, |_| {}).unwrap();
}

/// A call at the hub's web API as a signed-in staff member: the answer as it came.
pub fn staff_post(hub: &HubProcess, token: &str, request: Value) -> reqwest::blocking::Response {
    reqwest::blocking::Client::new()
        .post(format!("{}/api/call", hub.url()))
        .bearer_auth(token)
        .json(&request)
        .send()
        .unwrap()
}

/// A call at the hub's web API that must succeed: its answer.
pub fn staff_call(hub: &HubProcess, token: &str, request: Value) -> Value {
    let answer = staff_post(hub, token, request);
    assert!(answer.status().is_success(), "{:?}", answer.text());
    answer.json().unwrap()
}

/// A hub with two cabinets' tablets (nurses' and doctors') and a signed-in social worker at
/// its web UI (Георги Димитров, `gdimitrov`): the stage of the stories edited in two vans and
/// at the hub. Answers the hub, the two stores and the social worker's session token.
pub fn two_vans_and_a_social_worker(
    dir: &std::path::Path,
    hub_binary: &std::path::Path,
) -> (HubProcess, Store, Store, String) {
    let hub = HubProcess::start(hub_binary, &dir.join("hub"));
    let a = crate::hub::enrolled_device(dir, "tablet-a", &hub, "cabinet-1");
    let b = crate::hub::enrolled_device(dir, "tablet-b", &hub, "cabinet-2");
    hub.add_user(
        "gdimitrov",
        "Георги Димитров",
        "social_worker",
        "social work 2026",
    );
    let staff = hub.staff_session("gdimitrov", "social work 2026");
    (hub, a, b, staff)
}
