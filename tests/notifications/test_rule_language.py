"""The ``notify`` to people and ``create_user`` actions as the loader checks them: each
problem at its file, line and column, with a hint."""

from __future__ import annotations

from engine.definitions.loader import check_app_text, load_app_text
from tests.notifications.conftest import APP

HEAD = APP.split("rule: tell_buyers")[0]  # the forms and the flow, ending with ---

BAD = """\
rule: bad
form: request
trigger: created
actions:
  - notify: {to: [{role: buyers}, {field: item}, {field: applicnt}, {team: x}], via: [sms]}
  - notify: {to: {user: boss}, channel: wecom, url: "http://x"}
  - notify: {to: boss}
  - notify: {digest: pending_approvals, url: "http://x"}
  - notify: {title: nothing to say}
  - create_user: {login: "record.cod", name: record.item, kind: external}
"""


def test_every_problem_is_located_with_a_hint():
    start = HEAD.count("\n")
    found = [
        (e.line - start, e.column, e.path, e.message, e.hint) for e in check_app_text(HEAD + BAD)
    ]
    robot_hint = (
        "channel: dingtalk (a group robot), to: [{role: ...}] (people) or digest: pending_approvals"
    )
    assert found == [
        (
            5,
            43,
            "actions[0].notify.to[1].field",
            "field 'item' is a text field, not a user field",
            "name a field of type user, or created_by",
        ),
        (
            5,
            58,
            "actions[0].notify.to[2].field",
            "form 'request' has no field 'applicnt'",
            "did you mean 'applicant'?",
        ),
        (
            5,
            69,
            "actions[0].notify.to[3]",
            "unknown recipient team",
            "one of {role: code}, {user: login}, {department: code}, {field: key}",
        ),
        (5, 86, "actions[0].notify.via", "expected one of: inbox, email", None),
        (
            6,
            5,
            "actions[1].notify",
            "a notify needs exactly one of channel, to or digest, not channel and to",
            robot_hint,
        ),
        (7, 18, "actions[2].notify.to", "expected a mapping or a list", None),
        (
            8,
            14,
            "actions[3].notify.digest",
            "a digest goes with a schedule trigger and no when: (one run, on no record)",
            "trigger: {schedule: {cron: '0 9 * * 1-5'}}",
        ),
        (
            8,
            41,
            "actions[3].notify.url",
            "url is a setting of a group robot (channel:), not of a message to people",
            "remove it, or send to a robot with channel:",
        ),
        (
            9,
            5,
            "actions[4].notify",
            "a notify needs exactly one of channel, to or digest",
            robot_hint,
        ),
        (
            10,
            27,
            "actions[5].create_user.login",
            "unknown field 'record.cod'",
            "did you mean 'record.id' or 'record.total' or 'record.item'?",
        ),
        (
            10,
            65,
            "actions[5].create_user.kind",
            "an external user belongs to a dealer",
            "add dealer: record.<dealer code field>",
        ),
    ]


def test_the_test_app_loads_and_keeps_the_actions_as_written():
    app = load_app_text(APP)
    tell = next(r for r in app.rules if r.key == "tell_buyers").actions[0]
    assert (tell.kind, tell.data["to"], tell.data["via"]) == (
        "notify",
        ({"role": "buyers"}, {"field": "applicant"}),
        ("inbox", "email"),
    )
    account = next(r for r in app.rules if r.key == "open_account").actions[0]
    assert dict(account.data)["roles"] == ("dealer",)
