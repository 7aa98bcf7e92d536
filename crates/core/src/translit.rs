//! Cyrillic → Latin by the Bulgarian Transliteration Act (Закон за транслитерацията, 2009,
//! the "streamlined system"), used on slips, and a search key that folds the many ways a
//! name gets spelled in Latin ("Hristo", "Khristo", "Christo"; "Yordan", "Jordan") onto one.

/// The Act's table (чл. 3), lowercase. `ия` at the end of a word is the one context rule and
/// is handled in [`to_latin`].
const TABLE: [(char, &str); 30] = [
    ('а', "a"),
    ('б', "b"),
    ('в', "v"),
    ('г', "g"),
    ('д', "d"),
    ('е', "e"),
    ('ж', "zh"),
    ('з', "z"),
    ('и', "i"),
    ('й', "y"),
    ('к', "k"),
    ('л', "l"),
    ('м', "m"),
    ('н', "n"),
    ('о', "o"),
    ('п', "p"),
    ('р', "r"),
    ('с', "s"),
    ('т', "t"),
    ('у', "u"),
    ('ф', "f"),
    ('х', "h"),
    ('ц', "ts"),
    ('ч', "ch"),
    ('ш', "sh"),
    ('щ', "sht"),
    ('ъ', "a"),
    ('ь', "y"),
    ('ю', "yu"),
    ('я', "ya"),
];

/// Letters outside the Bulgarian alphabet that still turn up in names typed on Russian or
/// Serbian keyboards; not in the Act, transliterated the usual way.
const EXTRA: [(char, &str); 5] = [('ё', "yo"), ('ы', "y"), ('э', "e"), ('ј', "j"), ('ѝ', "i")];

fn latin_of(lower: char) -> Option<&'static str> {
    TABLE
        .iter()
        .chain(EXTRA.iter())
        .find(|(c, _)| *c == lower)
        .map(|(_, l)| *l)
}

/// Transliterates Bulgarian Cyrillic into Latin by the streamlined system; anything else
/// passes through unchanged. Capitals follow the word: "Жечков" → "Zhechkov",
/// "ЖЕЧКОВ" → "ZHECHKOV".
pub fn to_latin(text: &str) -> String {
    // The Act's one named exception (чл. 4): the country's name is written "Bulgaria".
    if text.contains("България") || text.contains("БЪЛГАРИЯ") {
        return to_latin(
            &text
                .replace("България", "Bulgaria")
                .replace("БЪЛГАРИЯ", "BULGARIA"),
        );
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 8);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let lower = c.to_lowercase().next().unwrap_or(c);
        let upper = c != lower;
        // The Act's one context rule: word-final "ия" becomes "ia" (България → Bulgaria).
        if lower == 'и'
            && chars
                .get(i + 1)
                .map(|n| n.to_lowercase().next() == Some('я'))
                == Some(true)
            && !chars.get(i + 2).is_some_and(|n| n.is_alphabetic())
        {
            let next_upper = chars[i + 1].is_uppercase();
            out.push(if upper { 'I' } else { 'i' });
            out.push(if next_upper { 'A' } else { 'a' });
            i += 2;
            continue;
        }
        match latin_of(lower) {
            Some(latin) if upper => {
                // All capitals when the neighbouring letters are capitals too, else Title case.
                let shouting = [i.checked_sub(1), Some(i + 1)]
                    .into_iter()
                    .flatten()
                    .filter_map(|j| chars.get(j))
                    .any(|n| n.is_alphabetic() && n.is_uppercase());
                if shouting {
                    out.push_str(&latin.to_uppercase());
                } else {
                    let mut cs = latin.chars();
                    if let Some(first) = cs.next() {
                        out.extend(first.to_uppercase());
                        out.push_str(cs.as_str());
                    }
                }
            }
            Some(latin) => out.push_str(latin),
            None => out.push(c),
        }
        i += 1;
    }
    out
}

/// Latin letters with diacritics that appear in Turkish and Romani spellings of names.
fn strip_diacritic(c: char) -> &'static str {
    match c {
        'č' | 'ć' | 'ç' => "ch",
        'š' | 'ş' | 'ś' => "sh",
        'ž' | 'ź' | 'ż' => "zh",
        'á' | 'à' | 'â' | 'ä' | 'ă' => "a",
        'é' | 'è' | 'ê' | 'ë' | 'ě' => "e",
        'í' | 'ì' | 'î' | 'ï' | 'ı' => "i",
        'ó' | 'ò' | 'ô' | 'ö' | 'ő' => "o",
        'ú' | 'ù' | 'û' | 'ü' | 'ű' => "u",
        'ğ' => "g",
        'ñ' | 'ń' => "n",
        _ => "",
    }
}

/// A search key: lowercase Latin with spelling variants folded together, so that a query in
/// Cyrillic or in any common Latin spelling meets the stored name. The fold is deliberately
/// lossy (it favours finding the person over precision); results show the full name and birth
/// year for the user to pick.
pub fn search_key(text: &str) -> String {
    let latin = to_latin(&text.to_lowercase());
    let mut plain = String::with_capacity(latin.len());
    for c in latin.chars() {
        if c.is_ascii_alphabetic() {
            plain.push(c.to_ascii_lowercase());
        } else if c.is_ascii_digit() {
            plain.push(c);
        } else {
            plain.push_str(strip_diacritic(c));
        }
    }
    // Longest patterns first; each variant group collapses to one spelling.
    const FOLDS: [(&str, &str); 16] = [
        ("dzh", "j"),
        ("dj", "j"),
        ("kh", "h"),
        ("zh", "z"),
        ("sh", "s"),
        ("tch", "c"),
        ("ch", "c"),
        ("tz", "c"),
        ("ts", "c"),
        ("ph", "f"),
        ("th", "t"),
        ("w", "v"),
        ("q", "k"),
        ("x", "ks"),
        ("j", "i"),
        ("y", "i"),
    ];
    let mut folded = plain;
    for (from, to) in FOLDS {
        if folded.contains(from) {
            folded = folded.replace(from, to);
        }
    }
    // Doubled letters are a common variant ("Mariia", "Mussa"): keep one.
    let mut out = String::with_capacity(folded.len());
    let mut prev = None;
    for c in folded.chars() {
        if Some(c) != prev {
            out.push(c);
        }
        prev = Some(c);
    }
    out
}

/// The words of a name as search keys, one per word ("Иван-Асен Петров" → ivan, asen, petrov).
pub fn search_tokens(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(search_key)
        .filter(|k| !k.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The examples the Act itself gives beside its table (чл. 3, ал. 1 and ал. 2).
    const LAW_EXAMPLES: [(&str, &str); 32] = [
        ("Андрей", "Andrey"),
        ("Борис", "Boris"),
        ("Враца", "Vratsa"),
        ("Габрово", "Gabrovo"),
        ("Добромир", "Dobromir"),
        ("Елена", "Elena"),
        ("Жеравна", "Zheravna"),
        ("Златоград", "Zlatograd"),
        ("Искър", "Iskar"),
        ("Йордан", "Yordan"),
        ("Самоков", "Samokov"),
        ("Ловеч", "Lovech"),
        ("Момчил", "Momchil"),
        ("Несебър", "Nesebar"),
        ("Огнян", "Ognyan"),
        ("Пловдив", "Plovdiv"),
        ("Русе", "Ruse"),
        ("Силистра", "Silistra"),
        ("Търговище", "Targovishte"),
        ("Улан", "Ulan"),
        ("Филип", "Filip"),
        ("Хасково", "Haskovo"),
        ("Цветан", "Tsvetan"),
        ("Чайка", "Chayka"),
        ("Шумен", "Shumen"),
        ("Щастливец", "Shtastlivets"),
        ("Ъглен", "Aglen"),
        ("Кьосев", "Kyosev"),
        ("Юлиан", "Yulian"),
        ("Ямбол", "Yambol"),
        ("София", "Sofia"),
        ("Ботев", "Botev"),
    ];

    #[test]
    fn the_acts_examples() {
        for (cyr, lat) in LAW_EXAMPLES {
            assert_eq!(to_latin(cyr), lat, "{cyr}");
        }
    }

    #[test]
    fn the_country_is_bulgaria() {
        assert_eq!(to_latin("Република България"), "Republika Bulgaria");
        assert_eq!(to_latin("Българийка"), "Balgariyka");
    }

    #[test]
    fn ia_only_at_the_end_of_a_word() {
        assert_eq!(to_latin("Ияна Мария-Илиянова"), "Iyana Maria-Iliyanova");
        assert_eq!(to_latin("ЮЛИЯ"), "YULIA");
        assert_eq!(to_latin("Юлия Щерева"), "Yulia Shtereva");
    }

    #[test]
    fn capitals_follow_the_word() {
        assert_eq!(to_latin("ЖЕЧКОВ"), "ZHECHKOV");
        assert_eq!(to_latin("Жечков"), "Zhechkov");
        assert_eq!(to_latin("Щ"), "Sht");
    }

    #[test]
    fn spellings_of_one_name_meet() {
        let same = |a: &str, b: &str| assert_eq!(search_key(a), search_key(b), "{a} vs {b}");
        same("Христо", "Hristo");
        same("Христо", "Khristo");
        same("Йордан", "Jordan");
        same("Юлия", "Julia");
        same("Юлия", "Yuliya");
        same("Мария", "Mariya");
        same("Николай", "Nikolai");
        same("Цветанка", "Cvetanka");
        same("Щерева", "Shtereva");
        same("Хюсеин", "Khyusein");
        same("Джамал", "Djamal");
        same("Джамал", "Jamal");
        assert!(search_key("Ахмедова").starts_with(&search_key("Ahmed")));
    }

    fn bulgarian_word() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            proptest::sample::select(TABLE.map(|(c, _)| c).to_vec()),
            1..12,
        )
        .prop_map(|cs| cs.into_iter().collect())
    }

    proptest! {
        #[test]
        fn each_letter_by_the_table(word in bulgarian_word()) {
            // Outside the word-final "ия", the result is the letters' table entries in order.
            prop_assume!(!word.ends_with("ия"));
            let expected: String = word.chars().map(|c| latin_of(c).unwrap()).collect();
            prop_assert_eq!(to_latin(&word), expected);
        }

        #[test]
        fn word_final_ia(word in bulgarian_word()) {
            let w = format!("{word}ия");
            let out = to_latin(&w);
            prop_assert!(out.ends_with("ia"), "{} → {}", w, out);
            let letterwise: String = word.chars().map(|c| latin_of(c).unwrap()).collect();
            prop_assert_eq!(&out[..out.len() - 2], letterwise);
        }

        #[test]
        fn capitals_are_the_same_letters(word in bulgarian_word()) {
            prop_assume!(word.chars().count() >= 2);
            prop_assert_eq!(to_latin(&word.to_uppercase()), to_latin(&word).to_uppercase());
            let latin = to_latin(&word);
            prop_assert!(latin.chars().all(|c| c.is_ascii_lowercase()));
        }

        #[test]
        fn cyrillic_and_its_transliteration_have_one_key(word in bulgarian_word()) {
            prop_assert_eq!(search_key(&word), search_key(&to_latin(&word)));
        }
    }
}
