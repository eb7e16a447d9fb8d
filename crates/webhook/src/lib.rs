#![doc = include_str!("../README.md")]

mod action;
mod error;
mod headers;
mod notifier;
mod options;
mod parameters;
mod payload;
mod preset;
mod provider;
mod request;
mod send;
mod signing;
mod target;
mod text;

pub use self::action::FailureWebhook;
pub use self::error::{RequestFailure, WebhookError, WebhookSetupError};
pub use self::headers::{IDEMPOTENCY_KEY_HEADER, NOTIFICATION_ID_HEADER};
pub use self::notifier::WebhookNotifier;
pub use self::options::WebhookOptions;
pub use self::parameters::{names as parameter_names, parameter_definitions};
pub use self::payload::WebhookPayload;
pub use self::preset::{
    DINGTALK_RETRYABLE_ERRCODES, UnknownWebhookPreset, WECOM_RETRYABLE_ERRCODES, WebhookPreset,
};
pub use self::provider::{WEBHOOK_ACTION, WebhookDefinitionProvider};
pub use self::request::WebhookRequest;
pub use self::signing::{SIGNATURE_HEADER, TIMESTAMP_HEADER, body_signature, dingtalk_signature};
pub use self::target::{InvalidWebhookUrl, WebhookUrl};
pub use self::text::{MARKDOWN_TEMPLATE, SLACK_TEMPLATE, WebhookText};
pub use bgtasks_actions::{FailureStage, NotifyPolicy};
pub use bgtasks_exception_handling::JOB_ID_HEADER;

#[cfg(test)]
mod object_safety {
    use std::sync::Arc;

    use bgtasks_actions::JobActionDefinitionProvider;

    use super::*;

    #[test]
    fn the_notifier_and_provider_are_held_as_arc_dyn() {
        // spec: R31
        let notifier = Arc::new(WebhookNotifier::new(WebhookOptions::default()).unwrap());
        let _held: Arc<dyn bgtasks_actions::DynJobActionNotifier> = notifier.clone();
        let provider: Arc<dyn JobActionDefinitionProvider> =
            Arc::new(WebhookDefinitionProvider::new(notifier));
        let definitions =
            bgtasks_actions::JobActionDefinitionManager::new().with_provider(&provider);
        let definition = definitions.get(WEBHOOK_ACTION).unwrap();
        assert_eq!(definition.notifiers[0].name(), "JobExecutedWebhookNotifier");
        let required: Vec<&str> = definition
            .parameters
            .iter()
            .filter(|p| p.required)
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(required, ["url"]);
    }
}
