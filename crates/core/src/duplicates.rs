//! Two records of one person: finding probable duplicates, and resolving merges.
//!
//! People without documents are registered again in another neighbourhood under another
//! spelling. The finder compares persons pairwise on what the registration holds, with
//! thresholds named here (and printed in the README):
//!
//! - the same ЕГН or ЛНЧ is certain;
//! - two different ЕГН (or ЛНЧ) are two people, whatever the names say (a merge is refused);
//! - otherwise the pair must have the same sex, birth years at most [`BIRTH_YEARS_APART`]
//!   apart, and a given and a family name each at least [`NAME_PART_MIN`] alike by
//!   Jaro–Winkler over the search keys (Cyrillic and every Latin spelling fold to one key
//!   first, so "Джошкун"/"Djoshkun" are equal before any distance is measured); names typed
//!   in the other order count too;
//! - the score adds the names' likeness, the birth date's closeness, the same neighbourhood
//!   and the same phone; pairs from [`LIST_MIN`] up are listed.
//!
//! Only pairs whose given and family names begin alike (their first two key letters, in
//! either order) are compared: this keeps 100,000 persons to a few million comparisons. A
//! typo in the first two letters of a name is therefore not found by the finder (search
//! still finds such a person by the other name).

use crate::error::Lang;
use crate::sex::Sex;
use crate::translit;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use uuid::Uuid;

/// Each of the given and the family name must be at least this alike (Jaro–Winkler, 0–1, on
/// the search keys). 0.88 keeps "ivanov"/"ivanova" out (a sex difference anyway) and
/// "petrov"/"petorv" (0.95), "asenov"/"asanov" (0.91) and "fatme"/"fatma" (0.92) in.
pub const NAME_PART_MIN: f64 = 0.88;
/// Birth years further apart than this are different people (estimated years are rough).
pub const BIRTH_YEARS_APART: i32 = 2;
/// A pair is listed from this score up (of 1).
pub const LIST_MIN: f64 = 0.75;
/// The names' share of the score: identical names give this much.
pub const NAME_WEIGHT: f64 = 0.6;
/// Added for the same exact birth date; the same birth year; a year apart; two years apart.
pub const BIRTH_WEIGHTS: [f64; 4] = [0.25, 0.15, 0.08, 0.04];
/// Added for the same neighbourhood.
pub const NEIGHBOURHOOD_WEIGHT: f64 = 0.1;
/// Added for the same phone number.
pub const PHONE_WEIGHT: f64 = 0.15;
/// A pair without a shared identifier never scores above this: only ЕГН or ЛНЧ is certain.
pub const UNCERTAIN_MAX: f64 = 0.99;

/// What the finder knows of a person (from the person index).
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub id: Uuid,
    /// Search key of the first word of the name.
    pub given: String,
    /// Search key of the last word of the name.
    pub family: String,
    pub sex: Sex,
    pub birth_year: i32,
    /// When the birth date is known exactly.
    pub birth_date: Option<NaiveDate>,
    pub egn: Option<String>,
    pub lnch: Option<String>,
    pub phone: Option<String>,
    pub neighbourhood: Option<String>,
}

impl Candidate {
    /// A candidate from a full name as recorded ("Иван Петров Иванов": given "ivan",
    /// family "ivanov"; a middle name is not compared).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: Uuid,
        full_name: &str,
        sex: Sex,
        birth_year: i32,
        birth_date: Option<NaiveDate>,
        egn: Option<String>,
        lnch: Option<String>,
        phone: Option<String>,
        neighbourhood: Option<String>,
    ) -> Candidate {
        let keys = translit::search_tokens(full_name);
        Candidate {
            id,
            given: keys.first().cloned().unwrap_or_default(),
            family: keys.last().cloned().unwrap_or_default(),
            sex,
            birth_year,
            birth_date,
            egn,
            lnch,
            phone,
            neighbourhood,
        }
    }

    /// The blocks the candidate is compared in: its two names' beginnings, in a fixed order,
    /// so that names typed the other way round meet in the same block.
    fn block(&self) -> (Sex, String, String) {
        let start = |k: &str| k.chars().take(2).collect::<String>();
        let (a, b) = (start(&self.given), start(&self.family));
        if a <= b {
            (self.sex, a, b)
        } else {
            (self.sex, b, a)
        }
    }
}

/// One reason a pair looks like one person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Evidence {
    SameEgn,
    SameLnch,
    /// How alike the given and the family names are (0–100), and whether one record has
    /// them the other way round.
    Names {
        given: u8,
        family: u8,
        swapped: bool,
    },
    SameBirthDate,
    BirthYears {
        a: i32,
        b: i32,
    },
    SameNeighbourhood,
    SamePhone,
}

impl Evidence {
    pub fn describe(&self, lang: Lang) -> String {
        match self {
            Evidence::SameEgn => lang.pick("същото ЕГН", "same ЕГН").into(),
            Evidence::SameLnch => lang.pick("същото ЛНЧ", "same ЛНЧ").into(),
            Evidence::Names {
                given,
                family,
                swapped,
            } => {
                let order = if *swapped {
                    lang.pick(", в обратен ред", ", in the other order")
                } else {
                    ""
                };
                format!(
                    "{} {given}% · {} {family}%{order}",
                    lang.pick("име", "given name"),
                    lang.pick("фамилия", "family name")
                )
            }
            Evidence::SameBirthDate => lang
                .pick("същата дата на раждане", "same birth date")
                .into(),
            Evidence::BirthYears { a, b } if a == b => {
                format!(
                    "{} {a}",
                    lang.pick("същата година на раждане", "same birth year")
                )
            }
            Evidence::BirthYears { a, b } => {
                format!(
                    "{} {a} / {b}",
                    lang.pick("години на раждане", "birth years")
                )
            }
            Evidence::SameNeighbourhood => lang.pick("същият квартал", "same neighbourhood").into(),
            Evidence::SamePhone => lang.pick("същият телефон", "same phone").into(),
        }
    }
}

/// A probable duplicate pair, `a` < `b`.
#[derive(Debug, Clone, PartialEq)]
pub struct Likeness {
    pub a: Uuid,
    pub b: Uuid,
    /// 0–1; 1 only for a shared ЕГН or ЛНЧ.
    pub score: f64,
    pub evidence: Vec<Evidence>,
}

impl Likeness {
    pub fn certain(&self) -> bool {
        self.evidence
            .iter()
            .any(|e| matches!(e, Evidence::SameEgn | Evidence::SameLnch))
    }
}

/// A pair in a fixed order: how a pair is remembered.
pub fn pair(a: Uuid, b: Uuid) -> (Uuid, Uuid) {
    if a <= b { (a, b) } else { (b, a) }
}

fn percent(x: f64) -> u8 {
    (x * 100.0).round().clamp(0.0, 100.0) as u8
}

/// Whether two identifiers, when both are there, tell the persons apart.
fn differ(a: &Option<String>, b: &Option<String>) -> bool {
    matches!((a, b), (Some(a), Some(b)) if a != b)
}

fn same(a: &Option<String>, b: &Option<String>) -> bool {
    matches!((a, b), (Some(a), Some(b)) if a == b)
}

/// Two different ЕГН or ЛНЧ: never one person, and never merged.
pub fn identifiers_differ(a: &Candidate, b: &Candidate) -> bool {
    differ(&a.egn, &b.egn) || differ(&a.lnch, &b.lnch)
}

/// Compares two persons: `None` when they are not a probable pair.
pub fn compare(a: &Candidate, b: &Candidate) -> Option<Likeness> {
    if a.id == b.id || identifiers_differ(a, b) {
        return None;
    }
    let mut evidence = Vec::new();
    if same(&a.egn, &b.egn) {
        evidence.push(Evidence::SameEgn);
    }
    if same(&a.lnch, &b.lnch) {
        evidence.push(Evidence::SameLnch);
    }
    let certain = !evidence.is_empty();
    let years = (a.birth_year - b.birth_year).abs();
    if !certain && (a.sex != b.sex || years > BIRTH_YEARS_APART) {
        return None;
    }
    let jw = strsim::jaro_winkler;
    let straight = (jw(&a.given, &b.given), jw(&a.family, &b.family));
    let swapped = (jw(&a.given, &b.family), jw(&a.family, &b.given));
    let mean = |(g, f): (f64, f64)| (g + f) / 2.0;
    let (names, is_swapped) = if mean(swapped) > mean(straight) {
        (swapped, true)
    } else {
        (straight, false)
    };
    if !certain && (names.0 < NAME_PART_MIN || names.1 < NAME_PART_MIN) {
        return None;
    }
    evidence.push(Evidence::Names {
        given: percent(names.0),
        family: percent(names.1),
        swapped: is_swapped,
    });
    let mut score = NAME_WEIGHT * mean(names);
    match (a.birth_date, b.birth_date) {
        (Some(x), Some(y)) if x == y => {
            score += BIRTH_WEIGHTS[0];
            evidence.push(Evidence::SameBirthDate);
        }
        _ => {
            if let Some(w) = BIRTH_WEIGHTS.get(years as usize + 1) {
                score += w;
            }
            evidence.push(Evidence::BirthYears {
                a: a.birth_year,
                b: b.birth_year,
            });
        }
    }
    if same(&a.neighbourhood, &b.neighbourhood) {
        score += NEIGHBOURHOOD_WEIGHT;
        evidence.push(Evidence::SameNeighbourhood);
    }
    if same(&a.phone, &b.phone) {
        score += PHONE_WEIGHT;
        evidence.push(Evidence::SamePhone);
    }
    let score = if certain {
        1.0
    } else {
        score.min(UNCERTAIN_MAX)
    };
    if score < LIST_MIN {
        return None;
    }
    let (x, y) = pair(a.id, b.id);
    Some(Likeness {
        a: x,
        b: y,
        score,
        evidence,
    })
}

/// Every probable pair among `candidates`, best first, leaving out the pairs in `dismissed`
/// (judged "not the same person"; see [`pair`]).
pub fn find(candidates: &[Candidate], dismissed: &HashSet<(Uuid, Uuid)>) -> Vec<Likeness> {
    let mut found: BTreeMap<(Uuid, Uuid), Likeness> = BTreeMap::new();
    let mut keep = |l: Likeness| {
        if !dismissed.contains(&(l.a, l.b)) {
            found.entry((l.a, l.b)).or_insert(l);
        }
    };
    // Shared identifiers, whatever the names.
    let mut by_identifier: HashMap<&str, Vec<&Candidate>> = HashMap::new();
    for c in candidates {
        for id in [&c.egn, &c.lnch].into_iter().flatten() {
            by_identifier.entry(id.as_str()).or_default().push(c);
        }
    }
    for group in by_identifier.values().filter(|g| g.len() > 1) {
        for (i, a) in group.iter().enumerate() {
            for b in &group[i + 1..] {
                if let Some(l) = compare(a, b) {
                    keep(l);
                }
            }
        }
    }
    // Names, within blocks, sorted by birth year so that only years close enough meet.
    let mut blocks: HashMap<(Sex, String, String), Vec<&Candidate>> = HashMap::new();
    for c in candidates {
        blocks.entry(c.block()).or_default().push(c);
    }
    for block in blocks.values_mut() {
        block.sort_by_key(|c| c.birth_year);
        for (i, a) in block.iter().enumerate() {
            for b in block[i + 1..]
                .iter()
                .take_while(|b| b.birth_year - a.birth_year <= BIRTH_YEARS_APART)
            {
                if let Some(l) = compare(a, b) {
                    keep(l);
                }
            }
        }
    }
    let mut out: Vec<Likeness> = found.into_values().collect();
    out.sort_by(|x, y| {
        y.score
            .total_cmp(&x.score)
            .then_with(|| (x.a, x.b).cmp(&(y.a, y.b)))
    });
    out
}

/// A duplicate's pointer to the person it was merged into (as its document holds it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeEdge {
    pub duplicate: Uuid,
    pub survivor: Uuid,
    pub at: DateTime<Utc>,
}

/// Each merged person's survivor: pointers are followed to the end (A → B → C: C survives
/// both). Two merges made apart can point at each other (A → B on one device, B → A on
/// another): the later of them in a cycle (by time, then by id) is not followed, so every
/// device reaches the same single survivor from the same documents.
pub fn resolve_merges(edges: &[MergeEdge]) -> BTreeMap<Uuid, Uuid> {
    let mut next: HashMap<Uuid, &MergeEdge> = edges
        .iter()
        .filter(|e| e.duplicate != e.survivor)
        .map(|e| (e.duplicate, e))
        .collect();
    // Break cycles: walk from each node; a node met again on the same walk closes a cycle.
    let mut done: HashSet<Uuid> = HashSet::new();
    let mut starts: Vec<Uuid> = next.keys().copied().collect();
    starts.sort();
    for start in starts {
        let mut path: Vec<Uuid> = Vec::new();
        let mut on_path: HashSet<Uuid> = HashSet::new();
        let mut node = start;
        while !done.contains(&node) {
            if !on_path.insert(node) {
                // `node` closes a cycle: the cycle is the path from its first visit.
                let from = path.iter().position(|n| *n == node).expect("on the path");
                let latest = path[from..]
                    .iter()
                    .map(|n| next[n])
                    .max_by_key(|e| (e.at, e.duplicate))
                    .map(|e| e.duplicate)
                    .expect("a cycle has edges");
                next.remove(&latest);
                break;
            }
            path.push(node);
            match next.get(&node) {
                Some(e) => node = e.survivor,
                None => break,
            }
        }
        done.extend(path);
    }
    let mut out = BTreeMap::new();
    for &duplicate in next.keys() {
        let mut node = duplicate;
        while let Some(e) = next.get(&node) {
            node = e.survivor;
        }
        out.insert(duplicate, node);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn person(n: u128, name: &str, sex: Sex, year: i32) -> Candidate {
        Candidate::new(id(n), name, sex, year, None, None, None, None, None)
    }

    fn at(minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 10, minute, 0).unwrap()
    }

    /// Person `duplicate` merged into `survivor` at 10:`minute`.
    fn edge(duplicate: u128, survivor: u128, minute: u32) -> MergeEdge {
        MergeEdge {
            duplicate: id(duplicate),
            survivor: id(survivor),
            at: at(minute),
        }
    }

    #[test]
    fn thresholds_hold_on_named_examples() {
        let jw = |a: &str, b: &str| {
            strsim::jaro_winkler(&translit::search_key(a), &translit::search_key(b))
        };
        // Spelling variants fold to one key before any distance.
        assert_eq!(jw("Джошкун", "Djoshkun"), 1.0);
        assert_eq!(jw("Юсеинов", "Yuseinov"), 1.0);
        // Typos and vowel slips stay above the threshold …
        for (a, b) in [
            ("Петров", "Петорв"),
            ("Асенов", "Асанов"),
            ("Фатме", "Фатма"),
        ] {
            assert!(jw(a, b) >= NAME_PART_MIN, "{a}/{b}: {}", jw(a, b));
        }
        // … different names fall below it.
        for (a, b) in [
            ("Иван", "Асен"),
            ("Петров", "Пенев"),
            ("Иван", "Иво"),
            ("Мария", "Фатме"),
        ] {
            assert!(jw(a, b) < NAME_PART_MIN, "{a}/{b}: {}", jw(a, b));
        }
    }

    #[test]
    fn the_score_adds_up_as_documented() {
        let a = person(1, "Асен Асенов", Sex::M, 1980);
        // Identical names, the same year: 0.6 + 0.15 = 0.75, just listed.
        let l = compare(&a, &person(2, "Асен Асенов", Sex::M, 1980)).unwrap();
        assert!((l.score - 0.75).abs() < 1e-9, "{}", l.score);
        // Two years apart and nothing else: 0.64, not listed …
        assert!(compare(&a, &person(3, "Асен Асенов", Sex::M, 1982)).is_none());
        // … unless they live in the same neighbourhood and share a phone: 0.89.
        let mut b = person(4, "Asen Assenov", Sex::M, 1982);
        let mut a2 = a.clone();
        a2.neighbourhood = Some("Мошино".into());
        a2.phone = Some("+359888123456".into());
        b.neighbourhood = a2.neighbourhood.clone();
        b.phone = a2.phone.clone();
        let l = compare(&a2, &b).unwrap();
        assert!((l.score - 0.89).abs() < 1e-9, "{}", l.score);
        assert!(l.evidence.contains(&Evidence::SameNeighbourhood));
        assert!(l.evidence.contains(&Evidence::SamePhone));
        assert!(!l.certain());
        // Three years apart: never, however alike.
        assert!(
            compare(&a2, &{
                let mut c = b.clone();
                c.birth_year = 1983;
                c
            })
            .is_none()
        );
        // The other sex: never.
        assert!(compare(&a, &person(5, "Асен Асенов", Sex::F, 1980)).is_none());
    }

    #[test]
    fn identifiers_decide_before_names() {
        let mut a = person(1, "Асен Асенов", Sex::M, 1980);
        let mut b = person(2, "Ivan Petrov", Sex::M, 1950);
        a.egn = Some("8001010005".into());
        b.egn = a.egn.clone();
        let l = compare(&a, &b).unwrap();
        assert_eq!(l.score, 1.0);
        assert!(l.certain());
        // Two different ЕГН: never a pair, even with the same name and birth date.
        let mut c = person(3, "Асен Асенов", Sex::M, 1980);
        c.egn = Some("8001010013".into());
        assert!(compare(&a, &c).is_none());
        // One ЕГН and a person without: names decide.
        let d = person(4, "Асен Асенов", Sex::M, 1980);
        assert!(compare(&a, &d).is_some());
    }

    #[test]
    fn names_in_the_other_order_are_found() {
        let a = person(1, "Фатме Мустафова", Sex::F, 1990);
        let b = person(2, "Mustafova Fatme", Sex::F, 1990);
        let found = find(&[a, b], &HashSet::new());
        assert_eq!(found.len(), 1);
        assert!(matches!(
            found[0].evidence[0],
            Evidence::Names { swapped: true, .. }
        ));
    }

    #[test]
    fn find_lists_best_first_and_forgets_dismissed_pairs() {
        let mut exact = person(1, "Мария Петрова", Sex::F, 1975);
        exact.birth_date = NaiveDate::from_ymd_opt(1975, 3, 2);
        let mut same_day = person(2, "Maria Petrova", Sex::F, 1975);
        same_day.birth_date = exact.birth_date;
        let other_year = person(3, "Мария Петрова", Sex::F, 1975);
        let far = person(4, "Мария Петрова", Sex::F, 1990);
        let all = [exact, same_day, other_year, far];
        let found = find(&all, &HashSet::new());
        let pairs: Vec<(Uuid, Uuid)> = found.iter().map(|l| (l.a, l.b)).collect();
        assert_eq!(pairs[0], (id(1), id(2)), "the same birth date first");
        assert_eq!(pairs.len(), 3, "{pairs:?}");
        assert!(!pairs.iter().any(|(a, b)| *a == id(4) || *b == id(4)));
        let dismissed: HashSet<_> = [pair(id(2), id(1))].into();
        let found = find(&all, &dismissed);
        assert_eq!(found.len(), 2);
        assert!(found.iter().all(|l| (l.a, l.b) != (id(1), id(2))));
    }

    #[test]
    fn merges_follow_chains() {
        let edges = [edge(1, 2, 1), edge(2, 3, 2)];
        let r = resolve_merges(&edges);
        assert_eq!(r[&id(1)], id(3));
        assert_eq!(r[&id(2)], id(3));
        assert!(!r.contains_key(&id(3)));
    }

    #[test]
    fn merges_made_apart_in_a_cycle_keep_one_survivor() {
        // A → B at 10:01 on one device, B → A at 10:05 on another: the later is not followed.
        let ab = edge(1, 2, 1);
        let ba = edge(2, 1, 5);
        for edges in [vec![ab.clone(), ba.clone()], vec![ba.clone(), ab.clone()]] {
            let r = resolve_merges(&edges);
            assert_eq!(r.len(), 1);
            assert_eq!(r[&id(1)], id(2));
        }
        // A three-cycle with a tail: D → A, A → B, B → C, C → A (latest) → C survives.
        let edges = [edge(4, 1, 0), edge(1, 2, 1), edge(2, 3, 2), edge(3, 1, 9)];
        let r = resolve_merges(&edges);
        assert!(r.values().all(|s| *s == id(3)), "{r:?}");
        assert_eq!(r.len(), 3);
        // The same time on both: the id decides, the same on every device.
        let tie = [edge(1, 2, 1), edge(2, 1, 1)];
        assert_eq!(resolve_merges(&tie)[&id(1)], id(2));
    }
}
