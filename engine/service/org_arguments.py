"""Argument checks of the organisation's use cases (engine/service/org.py).

Each refuses a wrong type, size or code with an :class:`InvalidArgumentError` in the
actor's language, naming the argument; a password is never echoed.
"""

from __future__ import annotations

from engine.errors import InvalidArgumentError, NotFoundError
from engine.org import passwords
from engine.org.org_file import CODE, CODE_RULE, MAX_CODE
from engine.org.principal import EXTERNAL, INTERNAL
from engine.store.limits import check_text
from engine.store.messages import message, shorten

#: shortest password accepted
MIN_PASSWORD = 8


def localised(locale: str, zh: str, en: str) -> str:
    return en if locale.startswith("en") else zh


def invalid(argument: str, value: object, locale: str, zh: str, en: str) -> InvalidArgumentError:
    given = shorten(value)
    expected = localised(locale, zh, en)
    text = message("argument.wrong", locale, argument=argument, expected=expected, given=given)
    return InvalidArgumentError(
        text, argument=argument, given=given, expected=expected, code="type"
    )


def code_argument(argument: str, value: object, locale: str) -> str:
    if isinstance(value, str) and len(value) <= MAX_CODE and CODE.fullmatch(value):
        return value
    raise invalid(
        argument,
        value,
        locale,
        f"编码（str）：字母、数字、汉字，首字符之后可用 _ . -，最多 {MAX_CODE} 个字符",
        f"a code (str): {CODE_RULE}",
    )


def optional_code_argument(argument: str, value: object, locale: str) -> str | None:
    return None if value is None else code_argument(argument, value, locale)


def codes_argument(argument: str, value: object, locale: str) -> list[str]:
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple, set, frozenset)):
        raise invalid(argument, value, locale, "编码的列表", "a list of codes")
    return sorted({code_argument(f"{argument}[]", item, locale) for item in value})


def text_argument(argument: str, value: object, limit: int, locale: str) -> str:
    text = check_text(argument, value, limit, locale)
    if not text.strip():
        raise invalid(argument, value, locale, "非空文本", "text that is not blank")
    return text


def optional_text_argument(argument: str, value: object, limit: int, locale: str) -> str | None:
    if value is None:
        return None
    text = check_text(argument, value, limit, locale).strip()
    return text or None


def encodable(text: str) -> bool:
    """Whether ``text`` is valid Unicode (a lone surrogate is not)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def secret_argument(value: object, locale: str) -> str:
    """A password: text the hasher takes; never echoed in the message."""
    if (
        isinstance(value, str)
        and len(value) <= passwords.MAX_PASSWORD
        and "\x00" not in value
        and encodable(value)
    ):
        return value
    raise InvalidArgumentError(
        localised(
            locale,
            f"密码应为不含空字符的文本（str），最多 {passwords.MAX_PASSWORD} 个字符",
            f"a password must be text (str) without NUL, at most {passwords.MAX_PASSWORD} "
            "characters",
        ),
        argument="password",
        given="<hidden>",
        code="type",
    )


def password_argument(value: object, locale: str) -> str:
    text = secret_argument(value, locale)
    if len(text) < MIN_PASSWORD:
        raise InvalidArgumentError(
            localised(
                locale,
                f"密码至少需要 {MIN_PASSWORD} 个字符",
                f"a password needs at least {MIN_PASSWORD} characters",
            ),
            argument="password",
            given="<hidden>",
            code="too_short",
        )
    return text


def check_kind(kind: str, dealer: str | None, department: str | None, locale: str) -> None:
    if kind == EXTERNAL and dealer is None:
        raise invalid(
            "dealer", dealer, locale, "外部用户所属的经销商编码", "the dealer of an external user"
        )
    if kind == EXTERNAL and department is not None:
        raise invalid(
            "department",
            department,
            locale,
            "None（外部用户不属于部门）",
            "None: an external user has no department",
        )
    if kind == INTERNAL and dealer is not None:
        raise invalid(
            "dealer",
            dealer,
            locale,
            "None（内部用户不属于经销商）",
            "None: an internal user has no dealer",
        )


def no_user(login: str, locale: str) -> NotFoundError:
    return NotFoundError(localised(locale, f"没有用户 {login}", f"no user {login}"))
