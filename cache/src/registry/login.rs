//! Checking credentials before `kiln login` stores them, as `docker login` does:
//! `GET /v2/` with them as basic auth; when the registry answers with a bearer
//! challenge instead, a token fetched from the challenge's realm with them, then
//! `GET /v2/` again with that token. A 401 or 403 at any step is a refusal.

use super::auth::hostname;
use super::error::{RegistryError, Result};
use super::{Registries, hosts};
use http::StatusCode;
use http::header::WWW_AUTHENTICATE;
use serde::Deserialize;

/// What a token endpoint answers (docker's `token`, OAuth2's `access_token`).
#[derive(Deserialize)]
struct TokenAnswer {
    token: Option<String>,
    access_token: Option<String>,
}

/// Where a bearer challenge says to get a token.
#[derive(Debug, PartialEq, Eq)]
struct Challenge {
    realm: String,
    service: Option<String>,
}

/// One login check: the registry, the user and the client that asks.
struct Check<'a> {
    host: &'a str,
    user: &'a str,
    password: &'a str,
    client: reqwest::Client,
}

impl Registries {
    /// Checks that `server` (`host[:port]`, or a URL as docker accepts) takes `user`'s
    /// `password`; nothing is stored.
    pub async fn check_login(&self, server: &str, user: &str, password: &str) -> Result<()> {
        let host = hostname(server);
        let (client, base) = hosts::http_client(host, &self.config.host(host))?;
        let check = Check {
            host,
            user,
            password,
            client,
        };
        let ping = format!("{base}/v2/");
        let answer = check
            .send(
                check.client.get(&ping).basic_auth(user, Some(password)),
                &ping,
            )
            .await?;
        let challenge = (answer.status() == StatusCode::UNAUTHORIZED)
            .then(|| bearer_challenge(answer.headers()))
            .flatten();
        let Some(challenge) = challenge else {
            return check.verdict(answer.status(), &ping);
        };
        let token = check.token(&challenge).await?;
        let answer = check
            .send(check.client.get(&ping).bearer_auth(token), &ping)
            .await?;
        check.verdict(answer.status(), &ping)
    }
}

impl Check<'_> {
    async fn send(&self, request: reqwest::RequestBuilder, url: &str) -> Result<reqwest::Response> {
        request.send().await.map_err(|source| RegistryError::Http {
            host: self.host.to_string(),
            what: format!("checking the credentials at {url}"),
            source,
        })
    }

    /// Success is a yes, 401 and 403 a no, anything else unexpected.
    fn verdict(&self, status: StatusCode, url: &str) -> Result<()> {
        match status {
            s if s.is_success() => Ok(()),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(RegistryError::LoginRefused {
                host: self.host.to_string(),
                user: self.user.to_string(),
                status: status.as_u16(),
            }),
            _ => Err(RegistryError::LoginUnexpected {
                host: self.host.to_string(),
                url: url.to_string(),
                status: status.as_u16(),
            }),
        }
    }

    /// A token from the challenge's realm, asked for with the credentials.
    async fn token(&self, challenge: &Challenge) -> Result<String> {
        let mut params = vec![("account", self.user)];
        params.extend(challenge.service.as_deref().map(|s| ("service", s)));
        let bad_realm = |reason: String| RegistryError::BadDocument {
            host: self.host.to_string(),
            what: format!("token realm `{}`", challenge.realm),
            reason,
        };
        let url = reqwest::Url::parse_with_params(&challenge.realm, &params)
            .map_err(|e| bad_realm(e.to_string()))?;
        let answer = self
            .send(
                self.client
                    .get(url)
                    .basic_auth(self.user, Some(self.password)),
                &challenge.realm,
            )
            .await?;
        self.verdict(answer.status(), &challenge.realm)?;
        let body = answer.bytes().await.map_err(|source| RegistryError::Http {
            host: self.host.to_string(),
            what: format!("reading the token from {}", challenge.realm),
            source,
        })?;
        let found: TokenAnswer =
            serde_json::from_slice(&body).map_err(|e| bad_realm(e.to_string()))?;
        found
            .token
            .or(found.access_token)
            .ok_or_else(|| bad_realm("the answer holds no token".into()))
    }
}

/// The first bearer challenge among the `WWW-Authenticate` headers, if any.
fn bearer_challenge(headers: &http::HeaderMap) -> Option<Challenge> {
    headers
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter_map(|value| http_auth::parse_challenges(value).ok())
        .flatten()
        .find(|c| c.scheme.eq_ignore_ascii_case("bearer"))
        .and_then(|c| {
            let param = |name: &str| {
                c.params
                    .iter()
                    .find(|(key, _)| key.eq_ignore_ascii_case(name))
                    .map(|(_, value)| value.to_unescaped())
            };
            Some(Challenge {
                realm: param("realm")?,
                service: param("service"),
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> http::HeaderMap {
        let mut map = http::HeaderMap::new();
        for value in values {
            map.append(WWW_AUTHENTICATE, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn the_bearer_challenge_gives_realm_and_service() {
        let found = bearer_challenge(&headers(&[
            r#"Basic realm="x""#,
            r#"Bearer realm="https://auth.example/token",service="registry.example",scope="a""#,
        ]));
        assert_eq!(
            found,
            Some(Challenge {
                realm: "https://auth.example/token".into(),
                service: Some("registry.example".into()),
            })
        );
    }

    #[test]
    fn basic_or_realmless_challenges_are_not_bearer_ones() {
        assert_eq!(bearer_challenge(&headers(&[r#"Basic realm="x""#])), None);
        assert_eq!(bearer_challenge(&headers(&["Bearer service=\"s\""])), None);
        assert_eq!(bearer_challenge(&headers(&[])), None);
    }
}
