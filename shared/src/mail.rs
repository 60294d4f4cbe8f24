//! The mail port: plain-text e-mails to a store's owner, sent through Amazon SES (v2
//! API) in AWS, or only logged where there is no SES (the local runner on embedded
//! storage). A mail names shops, counts and links; never a token or a buyer's data.
//! Neither adapter logs the recipient's address (personal data).

use async_trait::async_trait;

/// The sender address when `NOTICE_FROM_EMAIL` is not set.
pub const DEFAULT_SENDER: &str = "notifications@connector.example.com";

/// The sender address: `NOTICE_FROM_EMAIL`, else [`DEFAULT_SENDER`]. In AWS it must be
/// an identity verified in SES.
pub fn sender_from_env() -> String {
    std::env::var("NOTICE_FROM_EMAIL")
        .ok()
        .filter(|value| !value.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_SENDER.to_string())
}

/// One e-mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// Recipient address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
}

/// Why a mail was not sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The mail service refused or could not be reached (the message says which).
    #[error("the mail was not sent: {0}")]
    Refused(String),
}

/// Sends e-mails.
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Sends one mail. Errors: [`MailError::Refused`] when it was not accepted.
    async fn send(&self, mail: &Mail) -> Result<(), MailError>;
}

/// SES v2 (`SendEmail` with simple content), from one sender address.
pub struct SesMailer {
    client: aws_sdk_sesv2::Client,
    from: String,
}

impl SesMailer {
    /// A mailer sending from `from` (an identity verified in SES).
    pub fn new(client: aws_sdk_sesv2::Client, from: impl Into<String>) -> Self {
        Self {
            client,
            from: from.into(),
        }
    }

    /// Creates the sender identity when SES does not know it yet (the local runner on
    /// an emulator does this at start; in AWS the identity is verified beforehand).
    /// Errors: [`MailError::Refused`] when SES refuses to create it.
    pub async fn ensure_identity(&self) -> Result<(), MailError> {
        let known = self.client.get_email_identity().email_identity(&self.from).send().await;
        if known.is_ok() {
            return Ok(());
        }
        self.client
            .create_email_identity()
            .email_identity(&self.from)
            .send()
            .await
            .map(drop)
            .map_err(|e| MailError::Refused(aws_sdk_sesv2::error::DisplayErrorContext(e).to_string()))
    }
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
        let text = |data: &str| {
            Content::builder()
                .data(data)
                .charset("UTF-8")
                .build()
                .map_err(|e| MailError::Refused(e.to_string()))
        };
        let message = Message::builder()
            .subject(text(&mail.subject)?)
            .body(Body::builder().text(text(&mail.text)?).build())
            .build();
        self.client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(&mail.to).build())
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .map(drop)
            .map_err(|e| MailError::Refused(aws_sdk_sesv2::error::DisplayErrorContext(e).to_string()))
    }
}

/// Logs each mail's subject instead of sending it (no SES here).
pub struct LogMailer;

#[async_trait]
impl Mailer for LogMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        tracing::info!(subject = %mail.subject, "mail not sent (no mail service configured)");
        Ok(())
    }
}
