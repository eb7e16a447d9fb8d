//! The labels of the mail, localized with Fluent (R35).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use fluent_bundle::FluentResource;
use fluent_bundle::concurrent::FluentBundle;
use unic_langid::LanguageIdentifier;

use crate::error::LocalizationError;

/// The culture used when the requested one is unknown.
pub const FALLBACK_CULTURE: &str = "en";

const BUILTIN: [(&str, &str); 2] = [
    ("en", include_str!("../locales/en/notifications.ftl")),
    (
        "zh-Hans",
        include_str!("../locales/zh-Hans/notifications.ftl"),
    ),
];

struct Culture {
    bundle: FluentBundle<FluentResource>,
    ids: BTreeSet<String>,
}

impl Culture {
    fn new(langid: LanguageIdentifier) -> Self {
        let mut bundle = FluentBundle::new_concurrent(vec![langid]);
        // Labels go into HTML: no Unicode isolation marks around placeables.
        bundle.set_use_isolating(false);
        Self {
            bundle,
            ids: BTreeSet::new(),
        }
    }

    fn format(&self, id: &str) -> Option<String> {
        let pattern = self.bundle.get_message(id)?.value()?;
        let mut errors = Vec::new();
        Some(
            self.bundle
                .format_pattern(pattern, None, &mut errors)
                .into_owned(),
        )
    }
}

/// The Fluent bundles of every culture, `en` and `zh-Hans` built in. Add a culture or
/// override strings with [`add_resource`](Self::add_resource). A requested culture is
/// matched exactly, then without its region, then without its script, then by language
/// (so `zh-CN` finds `zh-Hans`), then falls back to `en`; a string missing from the
/// culture is taken from `en`.
pub struct Localizer {
    cultures: HashMap<String, Culture>,
}

impl Default for Localizer {
    fn default() -> Self {
        Self::new()
    }
}

impl Localizer {
    /// A localizer with the built-in `en` and `zh-Hans` strings.
    pub fn new() -> Self {
        let mut localizer = Self {
            cultures: HashMap::new(),
        };
        for (culture, source) in BUILTIN {
            if let Err(error) = localizer.add_resource(culture, source) {
                // The built-in resources are tested; this cannot happen.
                tracing::error!(%error, "a built-in localization resource is invalid");
            }
        }
        localizer
    }

    /// Adds Fluent source to `culture` (creating the culture if it is new); its messages
    /// replace those of the same id. The whole resource is refused if it has a syntax
    /// error.
    pub fn add_resource(&mut self, culture: &str, ftl: &str) -> Result<(), LocalizationError> {
        let langid: LanguageIdentifier =
            culture
                .trim()
                .parse()
                .map_err(|e: unic_langid::LanguageIdentifierError| {
                    LocalizationError::InvalidCulture {
                        culture: culture.to_owned(),
                        reason: e.to_string(),
                    }
                })?;
        let resource = FluentResource::try_new(ftl.to_owned()).map_err(|(_, errors)| {
            LocalizationError::InvalidResource {
                culture: culture.to_owned(),
                errors: errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            }
        })?;
        let ids = message_ids(ftl);
        let entry = self
            .cultures
            .entry(langid.to_string())
            .or_insert_with(|| Culture::new(langid));
        entry.bundle.add_resource_overriding(resource);
        entry.ids.extend(ids);
        Ok(())
    }

    /// The registered cultures, sorted.
    pub fn cultures(&self) -> Vec<String> {
        let mut names: Vec<String> = self.cultures.keys().cloned().collect();
        names.sort();
        names
    }

    /// The registered culture used for `requested`.
    pub fn resolve(&self, requested: &str) -> String {
        let Ok(langid) = requested.trim().parse::<LanguageIdentifier>() else {
            return FALLBACK_CULTURE.to_owned();
        };
        let mut candidate = langid.clone();
        let mut tries = vec![candidate.to_string()];
        if candidate.region.take().is_some() {
            tries.push(candidate.to_string());
        }
        if candidate.script.take().is_some() {
            tries.push(candidate.to_string());
        }
        if let Some(found) = tries.into_iter().find(|t| self.cultures.contains_key(t)) {
            return found;
        }
        let language = langid.language.as_str();
        self.cultures()
            .into_iter()
            .find(|name| name.split('-').next() == Some(language))
            .unwrap_or_else(|| FALLBACK_CULTURE.to_owned())
    }

    /// One string in `culture` (resolved as [`resolve`](Self::resolve) does), falling back
    /// to `en`.
    pub fn get(&self, culture: &str, id: &str) -> Option<String> {
        let resolved = self.resolve(culture);
        self.cultures
            .get(&resolved)
            .and_then(|c| c.format(id))
            .or_else(|| self.cultures.get(FALLBACK_CULTURE)?.format(id))
    }

    /// Every string of `culture`, by message id, with `en` filling the gaps: what
    /// templates see as `labels`.
    pub fn labels(&self, culture: &str) -> BTreeMap<String, String> {
        let resolved = self.resolve(culture);
        let fallback = self.cultures.get(FALLBACK_CULTURE);
        let chosen = self.cultures.get(&resolved);
        let ids: BTreeSet<&String> = fallback
            .into_iter()
            .chain(chosen)
            .flat_map(|c| c.ids.iter())
            .collect();
        ids.into_iter()
            .filter_map(|id| {
                let text = chosen
                    .and_then(|c| c.format(id))
                    .or_else(|| fallback?.format(id))?;
                Some((id.clone(), text))
            })
            .collect()
    }
}

impl fmt::Debug for Localizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Localizer")
            .field("cultures", &self.cultures())
            .finish()
    }
}

/// The ids of the messages an FTL source defines: lines that start with an identifier
/// followed by `=` (terms start with `-`, comments with `#`, continuations with a space).
fn message_ids(ftl: &str) -> Vec<String> {
    ftl.lines()
        .filter_map(|line| {
            let (id, _) = line.split_once('=')?;
            let id = id.trim_end();
            let mut chars = id.chars();
            let starts_well = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
            let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            (starts_well && rest_ok).then(|| id.to_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn ships_en_and_zh_hans_with_the_spec_strings() {
        // spec: R35
        assert_send_sync::<Localizer>();
        let l = Localizer::new();
        let en = l.labels("en");
        let zh = l.labels("zh-Hans");
        let expected = [
            (
                "JobExecuteError",
                "Background job exception",
                "后台作业异常",
            ),
            ("TenantName", "TenantName", "租户名称"),
            ("JobGroup", "Job Group", "作业分组"),
            ("JobName", "Job Name", "作业名称"),
            ("JobId", "Job Id", "作业标识"),
            ("JobType", "Job Type", "作业类型"),
            ("TriggerTime", "Trigger Time", "触发时间"),
            ("ErrorMessage", "Error Message", "错误消息"),
        ];
        assert_eq!(en.len(), expected.len());
        for (id, en_text, zh_text) in expected {
            assert_eq!(en.get(id).map(String::as_str), Some(en_text), "{id}");
            assert_eq!(zh.get(id).map(String::as_str), Some(zh_text), "{id}");
        }
    }

    #[test]
    fn unknown_cultures_fall_back_to_en_and_near_ones_match() {
        // spec: R35
        let l = Localizer::new();
        assert_eq!(l.resolve("fr-FR"), "en");
        assert_eq!(l.resolve("not a culture!"), "en");
        assert_eq!(l.resolve("zh-hans"), "zh-Hans");
        assert_eq!(l.resolve("zh-Hans-CN"), "zh-Hans");
        assert_eq!(l.resolve("zh-CN"), "zh-Hans");
        assert_eq!(l.resolve("en-GB"), "en");
        assert_eq!(l.get("fr", "JobName").as_deref(), Some("Job Name"));
        assert_eq!(l.get("zh-CN", "JobName").as_deref(), Some("作业名称"));
        assert_eq!(l.get("en", "NoSuchLabel"), None);
    }

    #[test]
    fn users_add_cultures_and_override_strings() {
        // spec: R35
        let mut l = Localizer::new();
        l.add_resource(
            "fr",
            "JobName = Nom de la tâche\nRetryHint = Réessayez { $n } fois\n",
        )
        .unwrap();
        l.add_resource("en", "JobGroup = Team\n").unwrap();
        let fr = l.labels("fr-CA");
        assert_eq!(fr["JobName"], "Nom de la tâche");
        // Missing in fr: taken from en, including the override.
        assert_eq!(fr["JobGroup"], "Team");
        assert_eq!(fr["JobId"], "Job Id");
        // No isolation marks around the (unresolved) placeable.
        assert!(
            !fr["RetryHint"].contains('\u{2068}'),
            "{:?}",
            fr["RetryHint"]
        );
        assert_eq!(l.cultures(), vec!["en", "fr", "zh-Hans"]);

        let bad = l
            .add_resource("fr", "JobName = ok\n!!! not ftl\n")
            .unwrap_err();
        assert!(
            bad.to_string()
                .starts_with("the Fluent resource for culture `fr` has errors"),
            "{bad}"
        );
        let bad = l.add_resource("!!", "A = b").unwrap_err();
        assert!(
            bad.to_string().starts_with("`!!` is not a valid culture"),
            "{bad}"
        );
    }
}
