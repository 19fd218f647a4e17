//! Building the one [`Client`] a command uses from the global options: which credentials win,
//! reading a token without ever taking it as an argument, and the endpoint checks.
//!
//! Everything here that can be wrong with the operator's input is found before the first call,
//! so such mistakes exit 2 with nothing sent.

use std::io::Read;
use std::path::Path;

use vertex_cancel::auth::MAX_TOKEN_LEN;
use vertex_cancel::{Client, ClientBuilder, Credentials, EndpointResolver};

use super::args::GlobalArgs;
use super::exit::CliError;
use vertex_cancel::escape::{DEFAULT_SHOWN_CHARS, for_terminal};

/// The environment variable holding an access token (read by the CLI, never shown in help).
pub(crate) const TOKEN_ENV: &str = "VERTEX_CANCEL_ACCESS_TOKEN";

/// Where stdin goes: names and a token cannot both come from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stdin {
    /// Stdin holds the names.
    Names,
    /// Stdin is free.
    Free,
}

/// Which credentials the options ask for (token read now, so a bad token file exits 2).
pub(crate) fn credentials(global: &GlobalArgs, stdin: Stdin) -> Result<Credentials, CliError> {
    if global.no_auth {
        return Ok(Credentials::none());
    }
    if let Some(path) = &global.access_token_file {
        let token = read_token_file(path, stdin)?;
        return Ok(Credentials::static_token(token));
    }
    match std::env::var(TOKEN_ENV) {
        Ok(value) if !value.trim().is_empty() => Ok(Credentials::static_token(check_token(
            &value,
            &format!("${TOKEN_ENV}"),
        )?)),
        _ => Ok(Credentials::application_default()),
    }
}

fn read_token_file(path: &Path, stdin: Stdin) -> Result<String, CliError> {
    if path == Path::new("-") {
        if stdin == Stdin::Names {
            return Err(CliError::usage(
                "stdin cannot hold both the names (`-`) and the token (--access-token-file -)",
            ));
        }
        return read_token(std::io::stdin().lock(), "the access token on stdin");
    }
    read_token_at(path, "access token file")
}

/// Reads the token in the file at `path` (`what` names the file in messages).
pub(crate) fn read_token_at(path: &Path, what: &str) -> Result<String, CliError> {
    let shown = for_terminal(&path.display().to_string(), DEFAULT_SHOWN_CHARS);
    let file = std::fs::File::open(path)
        .map_err(|e| CliError::usage(format!("cannot read {what} {shown}: {e}")))?;
    read_token(file, &format!("{what} {shown}"))
}

/// The longest token file or stdin read: the longest token accepted and some whitespace around
/// it. A larger input is refused without being read to its end (it may be `/dev/zero`).
const TOKEN_READ_LIMIT: usize = MAX_TOKEN_LEN + 64;

/// Reads one token from `input`, at most [`TOKEN_READ_LIMIT`] bytes of it.
fn read_token(input: impl Read, what: &str) -> Result<String, CliError> {
    let mut bytes = Vec::with_capacity(1024);
    input
        .take(TOKEN_READ_LIMIT as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| CliError::usage(format!("cannot read {what}: {e}")))?;
    if bytes.len() > TOKEN_READ_LIMIT {
        return Err(too_long(what));
    }
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| CliError::usage(format!("{what} is not text (it is not valid UTF-8)")))?;
    check_token(text, what)
}

fn too_long(what: &str) -> CliError {
    CliError::usage(format!(
        "{what} is too long: an access token is at most {MAX_TOKEN_LEN} bytes"
    ))
}

/// A token is one printable word; surrounding whitespace (a trailing newline) is dropped. The
/// message never repeats the token.
fn check_token(text: &str, what: &str) -> Result<String, CliError> {
    let token = text.trim();
    if token.is_empty() {
        return Err(CliError::usage(format!("{what} is empty")));
    }
    if token.len() > MAX_TOKEN_LEN {
        return Err(too_long(what));
    }
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(CliError::usage(format!(
            "{what} holds more than one token (whitespace or control characters inside); \
             expected one access token"
        )));
    }
    Ok(token.to_owned())
}

/// The resolver the client will use, to check every target before the client exists: the
/// library's own, from the same endpoint options.
pub(crate) fn resolver(global: &GlobalArgs) -> Result<EndpointResolver, CliError> {
    Ok(endpoint_options(Client::builder(), global).endpoint_resolver()?)
}

/// The options that pick endpoints: `--endpoint` and `--region`.
fn endpoint_options(mut builder: ClientBuilder, global: &GlobalArgs) -> ClientBuilder {
    if let Some(url) = &global.endpoint {
        builder = builder.endpoint(url);
    }
    if let Some(region) = &global.region {
        builder = builder.region(region);
    }
    builder
}

/// Builds the client: bad configuration exits 2, a credential source that cannot start 4.
pub(crate) async fn client(
    global: &GlobalArgs,
    credentials: Credentials,
) -> Result<Client, CliError> {
    let builder = Client::builder()
        .credentials(credentials)
        .user_agent_suffix(format!("vertex-cancel-cli/{}", env!("CARGO_PKG_VERSION")));
    let mut builder = endpoint_options(builder, global);
    if let Some(project) = &global.quota_project {
        builder = builder.quota_project(project);
    }
    if let Some(path) = &global.ca_file {
        let pem = std::fs::read(path).map_err(|e| {
            let shown = for_terminal(&path.display().to_string(), DEFAULT_SHOWN_CHARS);
            CliError::usage(format!("cannot read CA file {shown}: {e}"))
        })?;
        builder = builder.ca_certificate(pem);
    }
    builder.build().await.map_err(|error| {
        if error.is_missing_credentials() {
            CliError::NoCredentials
        } else {
            error.into()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_trimmed() {
        assert_eq!(check_token("ya29.abc\n", "t").unwrap(), "ya29.abc");
    }

    #[test]
    fn empty_or_multi_word_tokens_are_refused_without_echoing_them() {
        assert!(
            check_token(" \n", "t")
                .unwrap_err()
                .to_string()
                .contains("empty")
        );
        let err = check_token("secret-one\nsecret-two\n", "t")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("secret"), "{err}");
        assert!(matches!(check_token("a b", "t"), Err(CliError::Usage(_))));
    }

    #[test]
    fn an_endless_input_is_refused_after_the_limit() {
        let endless = std::io::repeat(b't');
        let err = read_token(endless, "t").unwrap_err().to_string();
        assert!(err.contains("too long"), "{err}");
        let longest = "t".repeat(MAX_TOKEN_LEN) + "\r\n";
        assert_eq!(
            read_token(longest.as_bytes(), "t").unwrap().len(),
            MAX_TOKEN_LEN
        );
        let over = "t".repeat(MAX_TOKEN_LEN + 1);
        assert!(read_token(over.as_bytes(), "t").is_err());
    }

    #[test]
    fn stdin_cannot_carry_names_and_token() {
        let err = read_token_file(Path::new("-"), Stdin::Names).unwrap_err();
        assert!(matches!(err, CliError::Usage(_)));
    }

    #[test]
    fn unreadable_token_file_is_bad_input() {
        let err = read_token_file(Path::new("/nonexistent/token"), Stdin::Free).unwrap_err();
        assert!(matches!(err, CliError::Usage(_)));
    }
}
