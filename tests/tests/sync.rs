//! Sync through a real hub process on loopback, real HTTP, real encrypted SQLite files.

use kabinet_core::*;
use kabinet_store::sql::SqlExt;
use kabinet_store::{Origin, Store};
use kabinet_sync::SyncError;
use kabinet_tests::hub::{HubProcess, enrolled_device};
use std::path::Path;
use uuid::Uuid;

const HUB_BIN: &str = env!("CARGO_BIN_EXE_kabinet-hub-under-test");

fn sync(store: &mut Store) -> kabinet_sync::SyncReport {
    kabinet_sync::sync(store, |_| {}).unwrap()
}

fn registered_person() -> (Person, Visit) {
    let person = kabinet_tests::register(PersonDraft {
        given_name: "Росица".into(),
        family_name: "Юсеинова".into(),
        egn: Some("7706245930".into()),
        neighbourhood: Some("Ралица".into()),
        consent_given: true,
        ..Default::default()
    });
    let visit = kabinet_tests::visit_with_hiv(person.id, RapidResult::NonReactive);
    (person, visit)
}

fn run_scenario(order: [&str; 3]) {
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start(Path::new(HUB_BIN), &dir.path().join("hub"));
    let mut a = enrolled_device(dir.path(), "tablet-a", &hub, "cabinet-1");
    let mut b = enrolled_device(dir.path(), "tablet-b", &hub, "cabinet-2");
    let staff = hub.storage();

    let (p, v) = registered_person();
    a.write(Origin::Local, |w| {
        w.put_person(&p)?;
        w.put_visit(&v)
    })
    .unwrap();
    sync(&mut a);
    sync(&mut b);
    assert_eq!(b.person(p.id).unwrap(), p);
    assert_eq!(
        b.visit(v.id).unwrap(),
        v,
        "results documents travel with the visit"
    );
    assert_eq!(staff.read(|s| s.person(p.id)).unwrap(), p);

    // Offline: each side edits the same person; different fields, and the same field.
    let mut pa = p.clone();
    pa.phone = Some(Phone::parse("0888111111").unwrap());
    pa.neighbourhood = Some("Изток".into());
    a.write(Origin::Local, |w| w.put_person(&pa)).unwrap();
    let mut pb = p.clone();
    pb.phone = Some(Phone::parse("0888222222").unwrap());
    pb.address = Some("ул. Юрий Гагарин 5".into());
    b.write(Origin::Local, |w| w.put_person(&pb)).unwrap();

    for _round in 0..2 {
        for who in order {
            match who {
                "a" => {
                    sync(&mut a);
                }
                "b" => {
                    sync(&mut b);
                }
                _ => {
                    // Hub staff edit what the hub holds at this moment.
                    let mut ph = staff.read(|s| s.person(p.id)).unwrap();
                    if ph.other_names.is_empty() {
                        ph.other_names = vec!["Роси".into()];
                        ph.phone = Some(Phone::parse("0888333333").unwrap());
                        staff.write_local(|w| w.put_person(&ph)).unwrap();
                    }
                }
            }
        }
    }

    let (ra, rb, rh) = (
        a.person(p.id).unwrap(),
        b.person(p.id).unwrap(),
        staff.read(|s| s.person(p.id)).unwrap(),
    );
    assert_eq!(ra, rb, "order {order:?}");
    assert_eq!(ra, rh, "order {order:?}");
    assert_eq!(
        ra.neighbourhood.as_deref(),
        Some("Изток"),
        "A's field survives"
    );
    assert_eq!(
        ra.address.as_deref(),
        Some("ул. Юрий Гагарин 5"),
        "B's field survives"
    );
    assert_eq!(
        ra.other_names,
        vec!["Роси".to_string()],
        "the hub's field survives"
    );
    let phones = ["+359888111111", "+359888222222", "+359888333333"];
    assert!(phones.contains(&ra.phone.as_ref().unwrap().as_str()));
    // The same heads everywhere, and the same-field conflict is visible everywhere.
    let heads = a.heads(p.id).unwrap();
    assert_eq!(b.heads(p.id).unwrap(), heads);
    assert_eq!(staff.read(|s| s.heads(p.id)).unwrap(), heads);
    // When hub staff edit last, they saw both cabinets' phones and replaced them: no conflict
    // is left and theirs wins. In any other order some phone edits are concurrent: a conflict,
    // resolved to the same value everywhere and flagged everywhere.
    let staff_saw_both = order == ["a", "b", "hub"];
    let expected: Vec<String> = if staff_saw_both {
        vec![]
    } else {
        vec!["phone".into()]
    };
    if staff_saw_both {
        assert_eq!(ra.phone.as_ref().unwrap().as_str(), "+359888333333");
    }
    for store_conflicts in [
        a.conflicts(p.id).unwrap(),
        b.conflicts(p.id).unwrap(),
        staff.read(|s| s.conflicts(p.id)).unwrap(),
    ] {
        assert_eq!(store_conflicts, expected, "order {order:?}");
    }
    // Nothing is pending, and a further sync moves nothing.
    for s in [&mut a, &mut b] {
        assert_eq!(kabinet_sync::status(s).unwrap().pending_local_changes, 0);
        let again = sync(s);
        assert_eq!((again.docs_sent, again.docs_received), (0, 0));
    }
}

#[test]
fn two_cabinets_and_hub_staff_converge_after_offline_edits_in_any_order() {
    for order in [["a", "b", "hub"], ["b", "hub", "a"], ["hub", "a", "b"]] {
        run_scenario(order);
    }
}

#[test]
fn bad_bodies_and_tokens_get_clear_4xx_and_the_hub_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start(Path::new(HUB_BIN), &dir.path().join("hub"));
    let mut a = enrolled_device(dir.path(), "tablet-a", &hub, "cabinet-1");
    let token = a.meta(kabinet_store::meta::HUB_TOKEN).unwrap().unwrap();
    // A raw client of the test's own (the devices' clients name their TLS provider).
    let _ = rustls::crypto::ring::default_provider().install_default();
    // No connection reuse: the oversized request below leaves its connection closed by the hub.
    let http = reqwest::blocking::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let url = format!("{}/v1/sync", hub.url());
    let post = |auth: Option<&str>, body: Vec<u8>| {
        let mut r = http.post(&url).body(body);
        if let Some(t) = auth {
            r = r.bearer_auth(t);
        }
        let resp = r.send().unwrap_or_else(|e| panic!("{e:?}"));
        (resp.status().as_u16(), resp.text().unwrap())
    };
    let valid = kabinet_sync::SyncRequest {
        push: vec![],
        push_through: 0,
        pull_cursor: 0,
        max_pull_bytes: 1000,
        relay_epoch: None,
    }
    .encode();

    let (status, text) = post(None, valid.clone());
    assert_eq!(status, 401);
    assert!(
        text.contains("enroll") && text.contains("регистрирайте"),
        "{text}"
    );
    assert_eq!(post(Some("not-a-token"), valid.clone()).0, 401);
    let (status, text) = post(Some(&token), b"hello".to_vec());
    assert_eq!(status, 400);
    assert!(text.contains("not a Kabinet sync message"), "{text}");
    let (status, _) = post(Some(&token), valid[..valid.len() - 1].to_vec());
    assert_eq!(status, 400, "truncated");
    let mut wrong_version = valid.clone();
    wrong_version[4] = 9;
    let (status, text) = post(Some(&token), wrong_version);
    assert_eq!(status, 400);
    assert!(text.contains("version 9"), "{text}");
    // Oversized: refused from its Content-Length; the hub may close the connection before the
    // client has finished sending, so a reset counts as refused too.
    let oversized = http
        .post(&url)
        .bearer_auth(&token)
        .body(vec![0u8; 33 * 1024 * 1024])
        .send();
    if let Ok(resp) = oversized {
        assert_eq!(resp.status().as_u16(), 413, "oversized");
    }
    // A document that is not Automerge, after 70 good ones (a batch big enough to be decoded
    // on a second thread): refused, and nothing of the push is stored (device b below
    // receives only what a syncs later).
    let mut scratch = Store::create(
        &dir.path().join("scratch.db"),
        &kabinet_tests::hub::DEVICE_KEY,
        &kabinet_store::DeviceSettings {
            cabinet: "scratch".into(),
            issuer: 7,
        },
    )
    .unwrap();
    let mut push = Vec::new();
    for i in 0..70 {
        let p = kabinet_tests::man_without_documents("Пробен", "Пробнов", 1950 + i);
        scratch.write(Origin::Local, |w| w.put_person(&p)).unwrap();
        push.push(kabinet_sync::DocChanges {
            doc_id: Some(p.id),
            kind: 1,
            class: 0,
            parent: None,
            changes: scratch.changes_after(p.id, &[]).unwrap(),
        });
    }
    push.push(kabinet_sync::DocChanges {
        doc_id: Some(Uuid::now_v7()),
        kind: 1,
        class: 0,
        parent: None,
        changes: b"garbage".to_vec(),
    });
    let bogus = kabinet_sync::SyncRequest {
        push,
        push_through: 71,
        pull_cursor: 0,
        max_pull_bytes: 1000,
        relay_epoch: None,
    }
    .encode();
    let (status, text) = post(Some(&token), bogus);
    assert_eq!(status, 422, "{text}");
    let enroll = http
        .post(format!("{}/v1/enroll", hub.url()))
        .json(&serde_json::json!({"code": "0000-0000-0000", "device_name": "x"}))
        .send()
        .unwrap();
    assert_eq!(enroll.status().as_u16(), 401);

    // The hub still serves: health, and a real sync.
    let health = http
        .get(format!("{}/health", hub.url()))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(health.contains("\"ok\""));
    let (p, v) = registered_person();
    a.write(Origin::Local, |w| {
        w.put_person(&p)?;
        w.put_visit(&v)
    })
    .unwrap();
    // The app's agent keeps a small page cache between syncs; a sync grows it and gives it back.
    a.set_cache_kib(4096).unwrap();
    assert_eq!(
        sync(&mut a).docs_sent,
        3,
        "person, visit and its HIV results document"
    );
    assert_eq!(a.cache_kib().unwrap(), 4096);

    // A revoked device is refused with a clear message; others go on.
    let device_id = a.meta(kabinet_store::meta::DEVICE_ID).unwrap().unwrap();
    hub.admin(&["devices", "revoke", &device_id]);
    match kabinet_sync::sync(&mut a, |_| {}) {
        Err(SyncError::Refused {
            status: 401,
            message,
        }) => assert!(message.contains("revoked"), "{message}"),
        other => panic!("expected 401, got {other:?}"),
    }
    assert!(
        kabinet_sync::status(&a)
            .unwrap()
            .last_error
            .unwrap()
            .contains("401")
    );
    let mut b = enrolled_device(dir.path(), "tablet-b", &hub, "cabinet-1");
    assert_eq!(sync(&mut b).docs_received, 3);
    assert_eq!(b.person(p.id).unwrap(), p);
    // New documents are stored once at the hub: their relay rows point at them (no bytes).
    let (rows, with_bytes): (i64, i64) = hub.with_sql(|sql| {
        sql.one(
            "SELECT count(*), count(*) FILTER (WHERE length(changes) > 0) FROM hub_relay",
            &[],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    });
    assert_eq!((rows, with_bytes), (3, 0));
}

#[test]
fn the_pull_cursor_passes_a_devices_own_documents() {
    // The hub skips a device's own relay rows when it pulls; the cursor must still move past
    // them, or every later sync would look through all of them again.
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start(Path::new(HUB_BIN), &dir.path().join("hub"));
    let mut a = enrolled_device(dir.path(), "tablet-a", &hub, "cabinet-1");
    let mut b = enrolled_device(dir.path(), "tablet-b", &hub, "cabinet-1");
    let cursor = |s: &Store| -> u64 {
        s.meta(kabinet_store::meta::PULL_CURSOR)
            .unwrap()
            .map_or(0, |c| c.parse().unwrap())
    };
    let people: Vec<Person> = (0..40)
        .map(|i| kabinet_tests::man_without_documents("Пробен", "Пробнов", 1950 + i))
        .collect();
    a.write(Origin::Local, |w| {
        people.iter().try_for_each(|p| w.put_person(p).map(drop))
    })
    .unwrap();
    assert_eq!(sync(&mut a).docs_sent, 40);
    assert_eq!(cursor(&a), 40, "past its own 40 rows");
    let (p, v) = registered_person();
    b.write(Origin::Local, |w| {
        w.put_person(&p)?;
        w.put_visit(&v)
    })
    .unwrap();
    let report = sync(&mut b);
    assert_eq!((report.docs_sent, report.docs_received), (3, 40));
    assert_eq!(cursor(&b), 43);
    assert_eq!(sync(&mut a).docs_received, 3);
    assert_eq!(cursor(&a), 43);

    // Nothing local waited before the pull: the push cursor passed the pulled documents too.
    let last_seq: u64 = a.last_change_seq().unwrap();
    let push_cursor = |s: &Store| -> u64 {
        s.meta(kabinet_store::meta::PUSH_CURSOR)
            .unwrap()
            .map_or(0, |c| c.parse().unwrap())
    };
    assert_eq!(push_cursor(&a), last_seq);

    // So the next sync, with nothing to do, writes nothing on the device (its status is
    // fresh), and the hub, which saw this device less than 15 minutes ago, writes nothing.
    let storage = hub.storage();
    let device_id = a.meta(kabinet_store::meta::DEVICE_ID).unwrap().unwrap();
    let seen = || {
        use kabinet_hub::HubStorage;
        let devices = storage.devices().unwrap();
        devices
            .into_iter()
            .find(|d| d.id == device_id)
            .unwrap()
            .last_sync_at
    };
    let seen_before = seen();
    assert!(seen_before.is_some());
    let success_before = a.meta(kabinet_store::meta::LAST_SUCCESS).unwrap();
    let changes_before = a.rows_written();
    let quiet = sync(&mut a);
    assert_eq!((quiet.docs_sent, quiet.docs_received), (0, 0));
    assert_eq!(
        a.rows_written() - changes_before,
        0,
        "a no-op sync writes nothing"
    );
    assert_eq!(cursor(&a), 43);
    assert_eq!(
        a.meta(kabinet_store::meta::LAST_SUCCESS).unwrap(),
        success_before
    );
    assert_eq!(seen(), seen_before);

    // A stale status, or an error to clear, is written even when nothing moved.
    let an_hour_ago = (chrono::Utc::now() - chrono::TimeDelta::hours(1)).to_rfc3339();
    for (key, value) in [
        (kabinet_store::meta::LAST_SUCCESS, an_hour_ago.as_str()),
        (
            kabinet_store::meta::LAST_ERROR,
            "2026-11-23T08:00:00+00:00 the hub is unreachable",
        ),
    ] {
        a.write(Origin::Local, |w| w.set_meta(key, value)).unwrap();
        let before = chrono::Utc::now();
        assert_eq!(sync(&mut a).docs_received, 0);
        let success = a.meta(kabinet_store::meta::LAST_SUCCESS).unwrap().unwrap();
        let success = chrono::DateTime::parse_from_rfc3339(&success).unwrap();
        assert!(success >= before, "{key}: last success refreshed");
        assert_eq!(
            a.meta(kabinet_store::meta::LAST_ERROR).unwrap().as_deref(),
            Some("")
        );
    }
}

#[test]
fn the_agent_waits_offline_then_syncs_when_the_hub_appears() {
    use kabinet_sync::{AgentOptions, SyncAgent, SyncState};
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let mut hub = HubProcess::start(Path::new(HUB_BIN), &dir.path().join("hub"));
    let mut a = enrolled_device(dir.path(), "tablet-a", &hub, "cabinet-1");
    let (p, v) = registered_person();
    a.write(Origin::Local, |w| {
        w.put_person(&p)?;
        w.put_visit(&v)
    })
    .unwrap();
    let path = a.path().to_path_buf();
    drop(a);
    hub.kill(); // the van drives out of range

    let options = AgentOptions {
        backoff_start: Duration::from_millis(50),
        backoff_max: Duration::from_millis(400),
        interval: Duration::from_secs(30),
        keyring: None,
    };
    let agent = SyncAgent::start(path.clone(), kabinet_tests::hub::DEVICE_KEY, options).unwrap();
    let until = |what: &str, f: &dyn Fn(&kabinet_sync::AgentView) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let view = agent.view();
            if f(&view) {
                return view;
            }
            assert!(
                Instant::now() < deadline,
                "waiting for {what}; last: {view:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let offline = until("offline", &|v| matches!(v.state, SyncState::Offline { .. }));
    assert_eq!(
        offline.pending_local_changes, 3,
        "person, visit, HIV results"
    );
    assert_eq!(offline.last_success, None);
    // Backoff grows while the hub stays away.
    until(
        "a longer retry",
        &|v| matches!(v.state, SyncState::Offline { retry_in_ms } if retry_in_ms >= 200),
    );

    hub.restart(); // back in range
    let synced = until("up to date", &|v| v.state == SyncState::UpToDate);
    assert_eq!(synced.pending_local_changes, 0);
    assert!(synced.last_success.is_some());

    // A new local save, then "sync now": it goes out without waiting for the interval.
    let mut store = Store::open(&path, &kabinet_tests::hub::DEVICE_KEY).unwrap();
    let mut p2 = p.clone();
    p2.address = Some("ул. Христо Ботев 1".into());
    store.write(Origin::Local, |w| w.put_person(&p2)).unwrap();
    agent.sync_now();
    until("the new change sent", &|v| {
        v.state == SyncState::UpToDate
            && kabinet_sync::status(&store).unwrap().pending_local_changes == 0
    });
    agent.stop();

    let staff = hub.storage();
    assert_eq!(staff.read(|s| s.person(p.id)).unwrap(), p2);
}
