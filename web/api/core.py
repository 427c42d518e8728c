"""What every API view shares: the bearer-token actor, problem+json refusals, JSON in
and out, and reading query arguments.

Views parse input, call the service and return JSON; the service decides everything
else (permissions, row scopes, validation), and its refusals become problems here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import Blueprint, Response, current_app, g, request
from flask_login import current_user
from werkzeug.exceptions import HTTPException

from engine.service import (
    Actor,
    ConflictError,
    DatabaseUnavailableError,
    FlowActionError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    RecordValidationError,
    Service,
    ServiceError,
)

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")

PROBLEM_TYPE = "application/problem+json"
#: a JSON body larger than this is refused before it is read (uploads have their own limits)
MAX_JSON_BYTES = 8 * 1024 * 1024
#: endpoints a signed-in browser may read without a token (the API's own documentation)
SESSION_READABLE = frozenset({"api.openapi_document", "api.docs"})
#: flow refusals that mean "no such thing for you": a task or instance the actor may not see
FLOW_NOT_FOUND = frozenset({"task_unknown", "not_visible", "not_assignee"})

#: status -> (problem kind, zh-CN title, en title)
TITLES: dict[int, tuple[str, str, str]] = {
    400: ("invalid-argument", "参数不正确", "Invalid argument"),
    401: ("unauthorized", "需要有效的 API 令牌", "A valid API token is required"),
    403: ("forbidden", "没有权限", "Forbidden"),
    404: ("not-found", "未找到", "Not found"),
    405: ("method-not-allowed", "不支持该方法", "Method not allowed"),
    409: ("conflict", "冲突", "Conflict"),
    412: ("precondition-failed", "版本不符", "Precondition failed"),
    413: ("too-large", "请求过大", "Request too large"),
    415: ("unsupported-media-type", "不支持的内容类型", "Unsupported media type"),
    422: ("invalid-record", "数据校验未通过", "The record is not valid"),
    500: ("server-error", "服务器错误", "Server error"),
    503: ("unavailable", "服务暂不可用", "Service unavailable"),
}


class ApiError(Exception):
    """A request the API itself refuses (before any service call): status and detail."""

    def __init__(self, status: int, zh: str, en: str, **extra: Any):
        super().__init__(en)
        self.status = status
        self.zh = zh
        self.en = en
        self.extra = extra


def service() -> Service:
    return current_app.extensions["lowcode_service"]


# -- who acts -------------------------------------------------------------------------------
def requested_locale(default: str = "zh-CN") -> str:
    """``Accept-Language``'s first language when it is English or Chinese, else ``default``."""
    first = request.headers.get("Accept-Language", "").split(",")[0].split(";")[0]
    first = first.strip().lower()
    if first.startswith("en"):
        return "en"
    if first.startswith("zh"):
        return "zh-CN"
    return default


def actor() -> Actor:
    """The actor of this request (set by :func:`authenticate`)."""
    return g.api_actor


def say(zh: str, en: str) -> str:
    """Text in the locale of this request's actor (or of Accept-Language before one)."""
    found = g.get("api_actor")
    locale = found.locale if found is not None else requested_locale()
    return en if locale.startswith("en") else zh


@blueprint.before_request
def authenticate() -> Response | None:
    """``Authorization: Bearer <token>`` -> the token's user as the actor; 401 otherwise.

    The documentation endpoints also accept a signed-in browser session (read-only).
    """
    g.api_actor = None
    if request.endpoint in (None, "api.unknown"):
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    found: Actor | None = None
    if scheme.lower() == "bearer" and token.strip():
        try:
            found = service().org.actor_for_token(token.strip())
        except ServiceError:
            found = None
    elif not header and request.endpoint in SESSION_READABLE and current_user.is_authenticated:
        try:
            found = service().org.acting(current_user.id)
        except ServiceError:
            found = None
    if found is None:
        detail = (
            (
                "缺少 Authorization: Bearer 令牌",
                "the Authorization: Bearer <token> header is missing",
            )
            if not header
            else (
                "令牌无效、已撤销，或其用户已停用",
                "the token is unknown or revoked, or its user is disabled",
            )
        )
        answer = problem(401, *detail)
        answer.headers["WWW-Authenticate"] = 'Bearer realm="lowcode"'
        return answer
    g.api_actor = replace(found, locale=requested_locale(found.locale))
    return None


# -- problems -------------------------------------------------------------------------------
def problem(status: int, zh: str, en: str, **extra: Any) -> Response:
    """An RFC 9457 problem in the request's locale."""
    kind, title_zh, title_en = TITLES.get(status, ("error", "错误", "Error"))
    body = {
        "type": f"{request.script_root}/api/v1/docs#problem-{kind}",
        "title": say(title_zh, title_en),
        "status": status,
        "detail": say(zh, en),
        "instance": request.path,
        **extra,
    }
    return Response(
        json.dumps(plain(body), ensure_ascii=False), status=status, mimetype=PROBLEM_TYPE
    )


def _service_problem(error: Exception) -> Response:
    text = str(error)
    if isinstance(error, RecordValidationError):
        errors = [e.as_dict() for e in error.errors]
        return problem(422, text, text, errors=errors)
    if isinstance(error, InvalidArgumentError):
        return problem(400, text, text, argument=error.argument, code=error.code or None)
    if isinstance(error, NotFoundError):
        return problem(404, text, text)
    if isinstance(error, FlowActionError):
        if error.code == "not_assignee":  # says whose task it is: not for someone else
            return problem(404, "你没有这个任务", "you have no such task", code="task_unknown")
        if error.code in FLOW_NOT_FOUND:
            return problem(404, text, text, code=error.code)
        return problem(409, text, text, code=error.code)
    if isinstance(error, ConflictError):
        return problem(409, text, text)
    if isinstance(error, PermissionDeniedError):
        return problem(403, text, text)
    if isinstance(error, DatabaseUnavailableError):
        current_app.logger.warning("database unavailable: %s", text)
        return problem(
            503, "数据库暂不可用，请稍后再试", "the database is unavailable, try again later"
        )
    current_app.logger.error("service error in %s: %s", request.path, text)
    return problem(500, text, text)


@blueprint.errorhandler(ServiceError)
@blueprint.errorhandler(RecordValidationError)
def service_refused(error: Exception) -> Response:
    return _service_problem(error)


@blueprint.errorhandler(ApiError)
def api_refused(error: ApiError) -> Response:
    return problem(error.status, error.zh, error.en, **error.extra)


@blueprint.errorhandler(HTTPException)
def http_refused(error: HTTPException) -> Response:
    status = error.code or 500
    text = error.description or error.name
    return problem(status, text, text)


@blueprint.errorhandler(Exception)
def unexpected(error: Exception) -> Response:
    """Anything else: logged with its traceback, answered with none."""
    current_app.logger.exception("unexpected error in %s", request.path)
    return problem(500, "服务器内部错误，已记录", "internal error; it has been logged")


@blueprint.route("/", defaults={"rest": ""}, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
@blueprint.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def unknown(rest: str) -> Response:
    """Any other path under /api/v1: a problem, not the site's HTML page."""
    return problem(404, "没有这个接口，见 /api/v1/docs", "no such operation: see /api/v1/docs")


# -- JSON in and out ------------------------------------------------------------------------
def plain(value: Any) -> Any:
    """Python values as JSON data: decimals as exact strings, dates and moments ISO 8601."""
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, float):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    get = getattr(value, "get", None)
    if callable(get) and hasattr(value, "zh_cn"):  # I18nText
        return get(actor().locale if g.get("api_actor") else "zh-CN")
    return str(value)


def _not_json(value: Any) -> Any:
    """What ``json.dumps`` cannot write itself (decimals, dates, bilingual text...), as
    :func:`plain` writes it."""
    return plain(value)


def answer(data: Any, status: int = 200, **headers: str) -> Response:
    # the C encoder walks the data and asks plain() only for what JSON has no type for:
    # walking a list page of 50 records through plain() first cost a fifth of the request
    response = Response(
        json.dumps(data, ensure_ascii=False, default=_not_json),
        status=status,
        mimetype="application/json",
    )
    for name, value in headers.items():
        response.headers[name.replace("_", "-")] = value
    return response


def body(*, optional: bool = False) -> dict[str, Any]:
    """The request's JSON object (numbers with a fraction read as exact decimals)."""
    if request.content_length and request.content_length > MAX_JSON_BYTES:
        raise ApiError(413, "请求体过大", f"the body exceeds {MAX_JSON_BYTES} bytes")
    raw = request.get_data(cache=False)
    if not raw.strip():
        if optional:
            return {}
        raise ApiError(400, "请求体应为 JSON 对象", "the body must be a JSON object")
    if request.mimetype and request.mimetype != "application/json":
        raise ApiError(415, "请求体应为 application/json", "send the body as application/json")
    try:
        data = json.loads(raw, parse_float=Decimal)
    except (ValueError, RecursionError):
        raise ApiError(400, "请求体不是有效的 JSON", "the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "请求体应为 JSON 对象", "the body must be a JSON object")
    return data


def whole_number(
    name: str, text: Any, *, default: int | None = None, low: int = 1, high: int = 2**63 - 1
) -> int | None:
    """A whole-number argument (query or body) within ``low..high``; 400 otherwise."""
    if text is None or text == "":
        return default
    if isinstance(text, int) and not isinstance(text, bool):
        number = text
    elif isinstance(text, str) and re.fullmatch(r"\d{1,19}", text.strip()):
        number = int(text.strip())
    else:
        number = -1
    if not low <= number <= high:
        raise ApiError(
            400,
            f"参数 {name} 应为 {low} 到 {high} 之间的整数",
            f"{name} must be a whole number from {low} to {high}",
            argument=name,
        )
    return number


def flag(name: str) -> bool:
    """A yes/no query argument: 1/true/yes."""
    return request.args.get(name, "").strip().lower() in ("1", "true", "yes")


def expected_version(data: Mapping[str, Any] | None = None) -> int | None:
    """The version the client last read: ``If-Match: "3"``, ``?expected_version=3``, or a
    body's ``expected_version``."""
    header = request.headers.get("If-Match")
    if header:
        tag = header.strip()
        if tag.startswith("W/"):
            tag = tag[2:]
        return whole_number("If-Match", tag.strip('"'))
    given = request.args.get("expected_version")
    if given is None and data is not None:
        given = data.get("expected_version")
    return whole_number("expected_version", given)


def etag(version: int) -> str:
    return f'"{version}"'
