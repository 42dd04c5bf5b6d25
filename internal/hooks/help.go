package hooks

// Help is the user's guide to hooks: what runs when, with which
// environment, and the limits (tokentray help hooks).
const Help = `The keeper (tokentray, or tokentray run --headless) runs a command of yours
on account events. Settings, read when the keeper starts:

  hooks.refreshed       after each successful refresh (a sign-in or import too)
  hooks.needs_sign_in   once when an account comes to need sign-in
  hooks.failing         once when an account starts failing (backoff.max_failures in a row)
  hooks.recovered       when an account is OK again after needing sign-in or failing
  hooks.timeout         a hook running longer is killed with its children, as are
                        children it leaves in the background (1s–10m, default 30s)

A hook is an argument list, run without a shell (also on Windows); for a
shell, name it: [sh, -c, "..."]. In the settings file:

  hooks:
    needs_sign_in: [notify-send, tokentray, "an account needs sign-in"]
    refreshed: [sh, -c, 'echo "$TOKENTRAY_ACCOUNT until $TOKENTRAY_EXPIRES_AT" >> ~/hooks.log']

or as a JSON list:

  tokentray config set hooks.needs_sign_in '["notify-send", "tokentray", "needs sign-in"]'
  tokentray restart

Its environment: TOKENTRAY_EVENT (refreshed, needs_sign_in, failing,
recovered), TOKENTRAY_ACCOUNT, TOKENTRAY_STATE, TOKENTRAY_EXPIRES_AT and
TOKENTRAY_LAST_REFRESH (RFC 3339), TOKENTRAY_ERROR (the provider's error
code or a short message), TOKENTRAY_SIGN_IN_BY (the expiry radar's date of
the next interactive sign-in, RFC 3339, empty when unknown) and
TOKENTRAY_SOCKET (the keeper's socket). Never
a token: a hook that needs one runs tokentray token, which asks the keeper
and adds no refresh.

One hook per account and event runs at a time (four more wait; more are
dropped and logged). Stdout and stderr go to the keeper's log line by line
(64 KiB a run) with the exit status; a token tokentray holds that a hook
prints is logged as [redacted token]. A hook that fails, hangs or floods
never holds up refreshes.`
