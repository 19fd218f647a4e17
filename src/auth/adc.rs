//! Application Default Credentials through gcp_auth (service-account keys, the metadata
//! server, gcloud), adapted to [`TokenSource`].

use std::path::PathBuf;
use std::sync::Arc;

use futures::future::BoxFuture;

use crate::error::{BoxError, Error};

use super::CLOUD_PLATFORM_SCOPE;
use super::authorized_user::AuthorizedUser;
use super::credentials::{AccessToken, TokenSource, auth_error, credential_type};
use super::service_account::ServiceAccount;

/// ADC, with a file named by `GOOGLE_APPLICATION_CREDENTIALS` read here: gcp_auth 0.12 reads it
/// as a service-account key only, so the most common file (gcloud's `authorized_user`) would fail
/// with "missing field private_key", and a service-account key is exchanged by this crate so that
/// a refused key is told from a failure of the moment.
pub(super) async fn application_default_source() -> Result<Arc<dyn TokenSource>, Error> {
    if let Some(path) = std::env::var_os("GOOGLE_APPLICATION_CREDENTIALS") {
        let path = PathBuf::from(path);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            auth_error(format!(
                "GOOGLE_APPLICATION_CREDENTIALS names {}, which cannot be read: {e}",
                path.display()
            ))
        })?;
        match credential_type(&text)?.as_str() {
            "authorized_user" => return Ok(Arc::new(AuthorizedUser::from_json(&text)?)),
            "service_account" => return Ok(Arc::new(ServiceAccount::from_json(&text)?)),
            _ => {}
        }
    }
    let provider = gcp_auth::provider().await.map_err(auth_error)?;
    Ok(Arc::new(GcpAuthSource(provider)))
}

/// The ADC file: named by `GOOGLE_APPLICATION_CREDENTIALS`, else gcloud's default location.
pub(super) fn adc_file_text() -> Option<String> {
    let path = std::env::var_os("GOOGLE_APPLICATION_CREDENTIALS")
        .map(PathBuf::from)
        .or_else(|| {
            let home = std::env::var_os("HOME")?;
            Some(PathBuf::from(home).join(".config/gcloud/application_default_credentials.json"))
        })?;
    std::fs::read_to_string(path).ok()
}

/// Adapts gcp_auth's other providers (metadata server, gcloud) to [`TokenSource`]; their
/// failures cannot be told apart, so all count as failures of the moment.
pub(super) struct GcpAuthSource(Arc<dyn gcp_auth::TokenProvider>);

impl TokenSource for GcpAuthSource {
    fn fetch(&self) -> BoxFuture<'_, Result<AccessToken, BoxError>> {
        Box::pin(async move {
            let token = self.0.token(&[CLOUD_PLATFORM_SCOPE]).await?;
            let expires_in = (token.expires_at() - chrono_now()).to_std().ok();
            Ok(AccessToken::new(token.as_str(), expires_in))
        })
    }
}

fn chrono_now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}
