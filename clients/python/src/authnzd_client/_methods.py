"""One method per request type of the catalogue, shared by `Client` (which
returns `Response`) and `AsyncClient` (which returns an awaitable of it).

Parameters and their types follow authnzd's request catalogue
(`clients/proto/src/requests.rs`, printed by `authnzd catalogue --json`:
authnzerver's `apischema.py` with authnzd's fixes; the tests hold the two
together). Optional parameters left as `None` are not sent. Every method also
takes the `CallOptions` keywords.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Generic, TypedDict, TypeVar, Unpack

R = TypeVar("R")


class CallOptions(TypedDict, total=False):
    """Keyword arguments every request method takes besides its parameters."""

    #: The end user's address for this call, overriding the client's own
    #: ``client_ipaddr``: one shared client serves many users.
    client_ipaddr: str
    #: Echoed back by the server; generated when not given.
    request_id: str | int


def _given(**optional: Any) -> dict[str, Any]:
    """The optional parameters that were passed: left out rather than sent as
    null, which most of them do not accept."""
    return {k: v for k, v in optional.items() if v is not None}


class RequestMethods(Generic[R]):
    """The typed request methods; subclasses supply `_call`."""

    @abstractmethod
    def _call(self, request_type: str, body: dict[str, Any], call: CallOptions) -> R: ...

    def session_new(
        self,
        *,
        ip_address: str,
        user_agent: str,
        user_id: int | None,
        expires: str | datetime,
        extra_info_json: Mapping[str, Any] | None,
        **call: Unpack[CallOptions],
    ) -> R:
        """``session-new``."""
        return self._call(
            "session-new",
            {
                "ip_address": ip_address,
                "user_agent": user_agent,
                "user_id": user_id,
                "expires": expires,
                "extra_info_json": extra_info_json,
            },
            call,
        )

    def session_exists(self, *, session_token: str, **call: Unpack[CallOptions]) -> R:
        """``session-exists``."""
        return self._call("session-exists", {"session_token": session_token}, call)

    def session_delete(self, *, session_token: str, **call: Unpack[CallOptions]) -> R:
        """``session-delete``."""
        return self._call("session-delete", {"session_token": session_token}, call)

    def session_delete_userid(
        self,
        *,
        session_token: str,
        user_id: int,
        keep_current_session: bool,
        **call: Unpack[CallOptions],
    ) -> R:
        """``session-delete-userid``."""
        return self._call(
            "session-delete-userid",
            {
                "session_token": session_token,
                "user_id": user_id,
                "keep_current_session": keep_current_session,
            },
            call,
        )

    def session_list(
        self,
        *,
        user_id: int,
        session_token: str | None = None,
        **call: Unpack[CallOptions],
    ) -> R:
        """``session-list``: the user's live sessions, without tokens."""
        return self._call(
            "session-list",
            {"user_id": user_id, **_given(session_token=session_token)},
            call,
        )

    def session_delete_others(
        self, *, session_token: str, user_id: int, **call: Unpack[CallOptions]
    ) -> R:
        """``session-delete-others``: logs out every other session of the user."""
        return self._call(
            "session-delete-others",
            {"session_token": session_token, "user_id": user_id},
            call,
        )

    def token_issue(self, *, session_token: str, **call: Unpack[CallOptions]) -> R:
        """``token-issue``: an access JWT and a refresh token for a live session."""
        return self._call("token-issue", {"session_token": session_token}, call)

    def token_refresh(self, *, refresh_token: str, **call: Unpack[CallOptions]) -> R:
        """``token-refresh``: a new pair; the presented refresh token is spent."""
        return self._call("token-refresh", {"refresh_token": refresh_token}, call)

    def token_revoke(self, *, refresh_token: str, **call: Unpack[CallOptions]) -> R:
        """``token-revoke``: revokes the refresh token's whole family."""
        return self._call("token-revoke", {"refresh_token": refresh_token}, call)

    def user_login_mfa(self, *, mfa_token: str, code: str, **call: Unpack[CallOptions]) -> R:
        """``user-login-mfa``: completes a login that needs a second factor."""
        return self._call("user-login-mfa", {"mfa_token": mfa_token, "code": code}, call)

    def totp_enroll_start(self, *, user_id: int, **call: Unpack[CallOptions]) -> R:
        """``totp-enroll-start``: a new secret, its otpauth URI and QR code."""
        return self._call("totp-enroll-start", {"user_id": user_id}, call)

    def totp_enroll_finish(self, *, user_id: int, code: str, **call: Unpack[CallOptions]) -> R:
        """``totp-enroll-finish``: turns TOTP on; answers the recovery codes."""
        return self._call("totp-enroll-finish", {"user_id": user_id, "code": code}, call)

    def totp_verify(self, *, user_id: int, code: str, **call: Unpack[CallOptions]) -> R:
        """``totp-verify``: checks a TOTP or recovery code."""
        return self._call("totp-verify", {"user_id": user_id, "code": code}, call)

    def totp_disable(
        self,
        *,
        user_id: int,
        code: str | None = None,
        password: str | None = None,
        **call: Unpack[CallOptions],
    ) -> R:
        """``totp-disable``: turns TOTP off, given a code or the password."""
        return self._call(
            "totp-disable",
            {"user_id": user_id, **_given(code=code, password=password)},
            call,
        )

    def totp_recovery_regenerate(
        self,
        *,
        user_id: int,
        code: str | None = None,
        password: str | None = None,
        **call: Unpack[CallOptions],
    ) -> R:
        """``totp-recovery-regenerate``: ten new recovery codes."""
        return self._call(
            "totp-recovery-regenerate",
            {"user_id": user_id, **_given(code=code, password=password)},
            call,
        )

    def user_login(
        self, *, session_token: str, email: str, password: str, **call: Unpack[CallOptions]
    ) -> R:
        """``user-login``."""
        return self._call(
            "user-login",
            {"session_token": session_token, "email": email, "password": password},
            call,
        )

    def user_logout(self, *, session_token: str, user_id: int, **call: Unpack[CallOptions]) -> R:
        """``user-logout``."""
        return self._call("user-logout", {"session_token": session_token, "user_id": user_id}, call)

    def user_passcheck(
        self, *, session_token: str, password: str, **call: Unpack[CallOptions]
    ) -> R:
        """``user-passcheck``."""
        return self._call(
            "user-passcheck", {"session_token": session_token, "password": password}, call
        )

    def user_passcheck_nosession(
        self, *, email: str, password: str, **call: Unpack[CallOptions]
    ) -> R:
        """``user-passcheck-nosession``."""
        return self._call("user-passcheck-nosession", {"email": email, "password": password}, call)

    def user_new(
        self,
        *,
        full_name: str,
        email: str,
        password: str,
        extra_info: Mapping[str, Any] | None = None,
        verify_retry_wait: int | None = None,
        system_id: str | None = None,
        **call: Unpack[CallOptions],
    ) -> R:
        """``user-new``."""
        body: dict[str, Any] = {"full_name": full_name, "email": email, "password": password}
        body.update(
            _given(extra_info=extra_info, verify_retry_wait=verify_retry_wait, system_id=system_id)
        )
        return self._call("user-new", body, call)

    def user_changepass(
        self,
        *,
        user_id: int,
        session_token: str,
        full_name: str,
        email: str,
        current_password: str,
        new_password: str,
        **call: Unpack[CallOptions],
    ) -> R:
        """``user-changepass``."""
        return self._call(
            "user-changepass",
            {
                "user_id": user_id,
                "session_token": session_token,
                "full_name": full_name,
                "email": email,
                "current_password": current_password,
                "new_password": new_password,
            },
            call,
        )

    def user_changepass_nosession(
        self,
        *,
        user_id: int,
        full_name: str,
        email: str,
        current_password: str,
        new_password: str,
        **call: Unpack[CallOptions],
    ) -> R:
        """``user-changepass-nosession``."""
        return self._call(
            "user-changepass-nosession",
            {
                "user_id": user_id,
                "full_name": full_name,
                "email": email,
                "current_password": current_password,
                "new_password": new_password,
            },
            call,
        )

    def user_delete(
        self, *, email: str, user_id: int, password: str, **call: Unpack[CallOptions]
    ) -> R:
        """``user-delete``."""
        return self._call(
            "user-delete", {"email": email, "user_id": user_id, "password": password}, call
        )

    def user_list(self, *, user_id: int | None, **call: Unpack[CallOptions]) -> R:
        """``user-list``."""
        return self._call("user-list", {"user_id": user_id}, call)

    def user_lookup_email(self, *, email: str, **call: Unpack[CallOptions]) -> R:
        """``user-lookup-email``."""
        return self._call("user-lookup-email", {"email": email}, call)

    def user_lookup_match(self, *, by: str, match: Any, **call: Unpack[CallOptions]) -> R:
        """``user-lookup-match``."""
        return self._call("user-lookup-match", {"by": by, "match": match}, call)

    def user_edit(
        self,
        *,
        user_id: int,
        user_role: str,
        session_token: str,
        target_userid: int,
        update_dict: Mapping[str, Any],
        **call: Unpack[CallOptions],
    ) -> R:
        """``user-edit``."""
        return self._call(
            "user-edit",
            {
                "user_id": user_id,
                "user_role": user_role,
                "session_token": session_token,
                "target_userid": target_userid,
                "update_dict": update_dict,
            },
            call,
        )

    def user_resetpass(
        self,
        *,
        email_address: str,
        new_password: str,
        session_token: str,
        **call: Unpack[CallOptions],
    ) -> R:
        """``user-resetpass``."""
        return self._call(
            "user-resetpass",
            {
                "email_address": email_address,
                "new_password": new_password,
                "session_token": session_token,
            },
            call,
        )

    def user_resetpass_nosession(
        self,
        *,
        email_address: str,
        new_password: str,
        required_active: bool,
        **call: Unpack[CallOptions],
    ) -> R:
        """``user-resetpass-nosession``."""
        return self._call(
            "user-resetpass-nosession",
            {
                "email_address": email_address,
                "new_password": new_password,
                "required_active": required_active,
            },
            call,
        )

    def user_lock(
        self,
        *,
        user_id: int,
        user_role: str,
        session_token: str,
        target_userid: int,
        action: str,
        **call: Unpack[CallOptions],
    ) -> R:
        """``user-lock``."""
        return self._call(
            "user-lock",
            {
                "user_id": user_id,
                "user_role": user_role,
                "session_token": session_token,
                "target_userid": target_userid,
                "action": action,
            },
            call,
        )

    def user_validatepass(
        self,
        *,
        password: str,
        email: str,
        full_name: str,
        min_pass_length: int | None = None,
        max_unsafe_similarity: int | None = None,
        max_character_frequency: float | None = None,
        min_pwned_matches: int | None = None,
        **call: Unpack[CallOptions],
    ) -> R:
        """``user-validatepass``."""
        body: dict[str, Any] = {"password": password, "email": email, "full_name": full_name}
        body.update(
            _given(
                min_pass_length=min_pass_length,
                max_unsafe_similarity=max_unsafe_similarity,
                max_character_frequency=max_character_frequency,
                min_pwned_matches=min_pwned_matches,
            )
        )
        return self._call("user-validatepass", body, call)

    def user_sendemail_signup(
        self,
        *,
        email_address: str,
        session_token: str,
        created_info: Mapping[str, Any],
        server_name: str,
        server_baseurl: str,
        server_verify_url: str | None = None,
        account_verify_url: str | None = None,
        verification_token: str,
        verification_expiry: int,
        emailuser: str | None = None,
        emailpass: str | None = None,
        emailserver: str | None = None,
        emailport: int | None = None,
        emailsender: str | None = None,
        **call: Unpack[CallOptions],
    ) -> R:
        """``user-sendemail-signup``."""
        body: dict[str, Any] = {
            "email_address": email_address,
            "session_token": session_token,
            "created_info": created_info,
            "server_name": server_name,
            "server_baseurl": server_baseurl,
            "verification_token": verification_token,
            "verification_expiry": verification_expiry,
        }
        body.update(
            _given(
                server_verify_url=server_verify_url,
                account_verify_url=account_verify_url,
                emailuser=emailuser,
                emailpass=emailpass,
                emailserver=emailserver,
                emailport=emailport,
                emailsender=emailsender,
            )
        )
        return self._call("user-sendemail-signup", body, call)

    def user_sendemail_forgotpass(
        self,
        *,
        email_address: str,
        session_token: str,
        server_name: str,
        server_baseurl: str,
        password_forgot_url: str,
        verification_token: str,
        verification_expiry: int,
        emailuser: str | None = None,
        emailpass: str | None = None,
        emailserver: str | None = None,
        emailport: int | None = None,
        emailsender: str | None = None,
        **call: Unpack[CallOptions],
    ) -> R:
        """``user-sendemail-forgotpass``."""
        body: dict[str, Any] = {
            "email_address": email_address,
            "session_token": session_token,
            "server_name": server_name,
            "server_baseurl": server_baseurl,
            "password_forgot_url": password_forgot_url,
            "verification_token": verification_token,
            "verification_expiry": verification_expiry,
        }
        body.update(
            _given(
                emailuser=emailuser,
                emailpass=emailpass,
                emailserver=emailserver,
                emailport=emailport,
                emailsender=emailsender,
            )
        )
        return self._call("user-sendemail-forgotpass", body, call)

    def user_set_emailverified(self, *, email: str, **call: Unpack[CallOptions]) -> R:
        """``user-set-emailverified``."""
        return self._call("user-set-emailverified", {"email": email}, call)

    def user_set_emailsent(self, *, email: str, email_type: str, **call: Unpack[CallOptions]) -> R:
        """``user-set-emailsent``."""
        return self._call("user-set-emailsent", {"email": email, "email_type": email_type}, call)

    def apikey_new(
        self,
        *,
        issuer: str,
        audience: str,
        subject: str,
        apiversion: str | int,
        expires_days: int,
        not_valid_before: float,
        user_id: int,
        user_role: str,
        ip_address: str,
        user_agent: str,
        session_token: str,
        **call: Unpack[CallOptions],
    ) -> R:
        """``apikey-new``."""
        return self._call(
            "apikey-new",
            {
                "issuer": issuer,
                "audience": audience,
                "subject": subject,
                "apiversion": apiversion,
                "expires_days": expires_days,
                "not_valid_before": not_valid_before,
                "user_id": user_id,
                "user_role": user_role,
                "ip_address": ip_address,
                "user_agent": user_agent,
                "session_token": session_token,
            },
            call,
        )

    def apikey_verify(
        self,
        *,
        apikey_dict: Mapping[str, Any],
        user_id: int,
        user_role: str,
        **call: Unpack[CallOptions],
    ) -> R:
        """``apikey-verify``."""
        return self._call(
            "apikey-verify",
            {"apikey_dict": apikey_dict, "user_id": user_id, "user_role": user_role},
            call,
        )

    def apikey_revoke(
        self,
        *,
        apikey_dict: Mapping[str, Any],
        user_id: int,
        user_role: str,
        **call: Unpack[CallOptions],
    ) -> R:
        """``apikey-revoke``."""
        return self._call(
            "apikey-revoke",
            {"apikey_dict": apikey_dict, "user_id": user_id, "user_role": user_role},
            call,
        )

    def apikey_new_nosession(
        self,
        *,
        issuer: str,
        audience: str,
        subject: str,
        apiversion: str | int,
        expires_seconds: int,
        not_valid_before: float,
        user_id: int,
        user_role: str,
        ip_address: str,
        refresh_expires: int,
        refresh_nbf: float,
        **call: Unpack[CallOptions],
    ) -> R:
        """``apikey-new-nosession``."""
        return self._call(
            "apikey-new-nosession",
            {
                "issuer": issuer,
                "audience": audience,
                "subject": subject,
                "apiversion": apiversion,
                "expires_seconds": expires_seconds,
                "not_valid_before": not_valid_before,
                "user_id": user_id,
                "user_role": user_role,
                "ip_address": ip_address,
                "refresh_expires": refresh_expires,
                "refresh_nbf": refresh_nbf,
            },
            call,
        )

    def apikey_verify_nosession(
        self,
        *,
        apikey_dict: Mapping[str, Any],
        user_id: int,
        user_role: str,
        **call: Unpack[CallOptions],
    ) -> R:
        """``apikey-verify-nosession``."""
        return self._call(
            "apikey-verify-nosession",
            {"apikey_dict": apikey_dict, "user_id": user_id, "user_role": user_role},
            call,
        )

    def apikey_revoke_nosession(
        self,
        *,
        apikey_dict: Mapping[str, Any],
        user_id: int,
        user_role: str,
        **call: Unpack[CallOptions],
    ) -> R:
        """``apikey-revoke-nosession``."""
        return self._call(
            "apikey-revoke-nosession",
            {"apikey_dict": apikey_dict, "user_id": user_id, "user_role": user_role},
            call,
        )

    def apikey_revokeall_nosession(
        self,
        *,
        apikey_dict: Mapping[str, Any],
        user_id: int,
        user_role: str,
        **call: Unpack[CallOptions],
    ) -> R:
        """``apikey-revokeall-nosession``."""
        return self._call(
            "apikey-revokeall-nosession",
            {"apikey_dict": apikey_dict, "user_id": user_id, "user_role": user_role},
            call,
        )

    def apikey_refresh_nosession(
        self,
        *,
        apikey_dict: Mapping[str, Any],
        user_id: int,
        user_role: str,
        refresh_token: str,
        ip_address: str,
        expires_seconds: int,
        not_valid_before: float,
        refresh_expires: int,
        refresh_nbf: float,
        **call: Unpack[CallOptions],
    ) -> R:
        """``apikey-refresh-nosession``."""
        return self._call(
            "apikey-refresh-nosession",
            {
                "apikey_dict": apikey_dict,
                "user_id": user_id,
                "user_role": user_role,
                "refresh_token": refresh_token,
                "ip_address": ip_address,
                "expires_seconds": expires_seconds,
                "not_valid_before": not_valid_before,
                "refresh_expires": refresh_expires,
                "refresh_nbf": refresh_nbf,
            },
            call,
        )

    def user_check_access(
        self,
        *,
        user_id: int,
        user_role: str,
        action: str,
        target_name: str,
        target_owner: int,
        target_visibility: str,
        target_sharedwith: str,
        **call: Unpack[CallOptions],
    ) -> R:
        """``user-check-access``."""
        return self._call(
            "user-check-access",
            {
                "user_id": user_id,
                "user_role": user_role,
                "action": action,
                "target_name": target_name,
                "target_owner": target_owner,
                "target_visibility": target_visibility,
                "target_sharedwith": target_sharedwith,
            },
            call,
        )

    def user_check_limit(
        self,
        *,
        user_id: int,
        user_role: str,
        limit_name: str,
        value_to_check: Any,
        **call: Unpack[CallOptions],
    ) -> R:
        """``user-check-limit``."""
        return self._call(
            "user-check-limit",
            {
                "user_id": user_id,
                "user_role": user_role,
                "limit_name": limit_name,
                "value_to_check": value_to_check,
            },
            call,
        )

    def internal_user_lock(
        self, *, target_userid: int, action: str, **call: Unpack[CallOptions]
    ) -> R:
        """``internal-user-lock``."""
        return self._call(
            "internal-user-lock", {"target_userid": target_userid, "action": action}, call
        )

    def internal_user_delete(self, *, target_userid: int, **call: Unpack[CallOptions]) -> R:
        """``internal-user-delete``."""
        return self._call("internal-user-delete", {"target_userid": target_userid}, call)

    def internal_user_edit(
        self, *, target_userid: int, update_dict: Mapping[str, Any], **call: Unpack[CallOptions]
    ) -> R:
        """``internal-user-edit``."""
        return self._call(
            "internal-user-edit", {"target_userid": target_userid, "update_dict": update_dict}, call
        )

    def internal_session_edit(
        self,
        *,
        target_session_token: str,
        update_dict: Mapping[str, Any],
        **call: Unpack[CallOptions],
    ) -> R:
        """``internal-session-edit``."""
        return self._call(
            "internal-session-edit",
            {"target_session_token": target_session_token, "update_dict": update_dict},
            call,
        )

    def audit_list(
        self,
        *,
        user_id: int | None = None,
        event: str | None = None,
        since: str | datetime | None = None,
        limit: int | None = None,
        **call: Unpack[CallOptions],
    ) -> R:
        """``audit-list``: security events, newest first (at most 1000)."""
        body = _given(user_id=user_id, event=event, since=since, limit=limit)
        return self._call("audit-list", body, call)

    def passwordless_start(
        self,
        *,
        channel: str,
        address: str,
        create_user: bool | None = None,
        redirect_url: str | None = None,
        **call: Unpack[CallOptions],
    ) -> R:
        """``passwordless-start``."""
        body: dict[str, Any] = {"channel": channel, "address": address}
        body.update(_given(create_user=create_user, redirect_url=redirect_url))
        return self._call("passwordless-start", body, call)

    def passwordless_finish(
        self,
        *,
        attempt_id: str | None = None,
        code: str | None = None,
        link_token: str | None = None,
        session_token: str | None = None,
        **call: Unpack[CallOptions],
    ) -> R:
        """``passwordless-finish``."""
        body = _given(
            attempt_id=attempt_id, code=code, link_token=link_token, session_token=session_token
        )
        return self._call("passwordless-finish", body, call)

    def pubkey_challenge_new(
        self, *, purpose: str, user_id: int | None = None, **call: Unpack[CallOptions]
    ) -> R:
        """``pubkey-challenge-new``: a single-use challenge for a device key."""
        return self._call(
            "pubkey-challenge-new", {"purpose": purpose, **_given(user_id=user_id)}, call
        )

    def pubkey_register(
        self,
        *,
        challenge_id: str,
        user_id: int,
        public_key: str,
        signature: str,
        label: str | None = None,
        **call: Unpack[CallOptions],
    ) -> R:
        """``pubkey-register``: registers a device's Ed25519 public key."""
        body = {
            "challenge_id": challenge_id,
            "user_id": user_id,
            "public_key": public_key,
            "signature": signature,
            **_given(label=label),
        }
        return self._call("pubkey-register", body, call)

    def pubkey_login(
        self,
        *,
        challenge_id: str,
        key_id: str,
        signature: str,
        ip_address: str | None = None,
        user_agent: str | None = None,
        **call: Unpack[CallOptions],
    ) -> R:
        """``pubkey-login``: a new session for the key's user."""
        body = {
            "challenge_id": challenge_id,
            "key_id": key_id,
            "signature": signature,
            **_given(ip_address=ip_address, user_agent=user_agent),
        }
        return self._call("pubkey-login", body, call)

    def pubkey_challenge_wait(
        self, *, challenge_id: str, wait_seconds: int, **call: Unpack[CallOptions]
    ) -> R:
        """``pubkey-challenge-wait``: long-polls until the challenge completes or expires."""
        return self._call(
            "pubkey-challenge-wait",
            {"challenge_id": challenge_id, "wait_seconds": wait_seconds},
            call,
        )

    def pubkey_list(self, *, user_id: int, **call: Unpack[CallOptions]) -> R:
        """``pubkey-list``: the user's device keys, without secrets."""
        return self._call("pubkey-list", {"user_id": user_id}, call)

    def pubkey_delete(self, *, user_id: int, key_id: str, **call: Unpack[CallOptions]) -> R:
        """``pubkey-delete``: deletes one of the user's device keys."""
        return self._call("pubkey-delete", {"user_id": user_id, "key_id": key_id}, call)
