"""Structured output: JSON matching a pydantic model, asked in the form the user picked (``structured_output``):

* ``json_schema``: ``response_format = {"type": "json_schema", "json_schema": {"name", "schema", "strict"}}``
  (vLLM, SGLang, OpenAI, Ollama's ``/v1``);
* ``json_object``: llama.cpp's form ``{"type": "json_object", "schema": {...}}`` (llama.cpp's server and
  llama-cpp-python's, which reject ``json_schema``);
* ``plain``: no ``response_format``; the schema is described in the prompt and the JSON is cut out of the reply.

The answer is always validated with pydantic (and an optional ``check`` for rules a schema cannot say); when it
fails, the reply and the validation error go back to the model and it tries again, ``max_retries`` times
(:func:`ask`, which :meth:`LLMClient.structured <vivant.backends.openai.client.LLMClient.structured>` calls).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from vivant.backends.openai.errors import LLMOutputInvalid, OutputProblems

if TYPE_CHECKING:
    from vivant.backends.openai.client import LLMClient, Message

log = logging.getLogger(__name__)

StructuredOutput = Literal["json_schema", "json_object", "plain"]
T = TypeVar("T", bound=BaseModel)


def response_format(mode: StructuredOutput, name: str, schema: dict[str, Any]) -> dict[str, Any] | None:
    """The ``response_format`` request field for ``mode`` (None for ``plain``)."""
    if mode == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}}
    if mode == "json_object":
        return {"type": "json_object", "schema": schema}
    return None


_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL | re.IGNORECASE)


def extract_json(text: str) -> str:
    """The JSON object in a reply: the text itself, a fenced block, or the outermost ``{...}``."""
    stripped = text.strip()
    if stripped.startswith("{"):
        return stripped
    fenced = _FENCE.search(stripped)
    if fenced:
        return fenced.group(1).strip()
    start, end = stripped.find("{"), stripped.rfind("}")
    if 0 <= start < end:
        return stripped[start : end + 1]
    return stripped


def describe_validation(err: ValidationError) -> list[str]:
    """One short line per problem, ``field.path: message``."""
    lines = []
    for e in err.errors()[:12]:
        loc = ".".join(str(p) for p in e["loc"]) or "(whole answer)"
        msg = e["msg"]
        if e["type"] == "json_invalid":
            msg = f"not valid JSON ({e.get('ctx', {}).get('error', msg)})"
        lines.append(f"{loc}: {msg}")
    return lines


def strict_schema(model: type[BaseModel], **overrides: dict[str, Any]) -> dict[str, Any]:
    """``model``'s JSON schema, self-contained (no ``$ref``), every property required, no extra properties.

    ``overrides`` maps a top-level property to keys merged into its schema (e.g. an ``enum`` of note numbers).
    Servers' grammar converters (llama.cpp) and strict modes (OpenAI, vLLM) all accept this shape.
    """
    raw = model.model_json_schema()
    defs = raw.pop("$defs", {})

    def fix(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return fix(defs[node["$ref"].split("/")[-1]])
            out = {k: fix(v) for k, v in node.items() if k not in ("title", "default", "description", "properties")}
            if "properties" in node:  # property names may be "title" too: keep them all
                out["properties"] = {name: fix(sub) for name, sub in node["properties"].items()}
            if out.get("type") == "object" and "properties" in out:
                out["required"] = list(out["properties"])
                out["additionalProperties"] = False
            return out
        if isinstance(node, list):
            return [fix(v) for v in node]
        return node

    schema: dict[str, Any] = fix(raw)
    for prop, extra in overrides.items():
        target = schema["properties"][prop]
        if target.get("type") == "array":
            target["items"] = {**target["items"], **extra}
        else:
            target.update(extra)
    return schema


def ask(
    client: LLMClient,
    messages: list[Message],
    schema: type[T],
    *,
    check: Callable[[T], None] | None = None,
    name: str | None = None,
    json_schema: dict[str, Any] | None = None,
    model: str | None = None,
    temperature: float | None = None,
    max_tokens: int | None = None,
    retry_prompt: str = "",
) -> T:
    """Ask for JSON matching ``schema``; validate; feed problems back and retry; raise LLMOutputInvalid.

    ``json_schema`` replaces the schema sent to the server (for tighter limits than the model states);
    ``check`` raises :class:`OutputProblems` (or ``ValueError``) for rules no schema can express.
    ``retry_prompt`` is the feedback template; ``$problems`` is replaced with the problem list.
    """
    sent_schema = json_schema or schema.model_json_schema()
    fmt = response_format(client.structured_output, name or schema.__name__, sent_schema)
    history = list(messages)
    if client.structured_output == "plain":
        history = _with_schema_hint(history, sent_schema)
    replies: list[str] = []
    problems: list[str] = []
    for attempt in range(client.max_retries + 1):
        reply = client.chat(
            history,
            model=model,
            response_format=fmt,
            temperature=temperature,
            max_tokens=max_tokens,
            seed=attempt if attempt else None,  # a retry must not replay the same sampling
        )
        replies.append(reply.content)
        where = client._where(model, reply.server)  # the server of the latest reply
        try:
            value = schema.model_validate_json(extract_json(reply.content))
            if check is not None:
                check(value)
            if attempt:
                log.info("%s: valid %s after %d retries", where, schema.__name__, attempt)
            return value
        except ValidationError as e:
            problems = describe_validation(e)
        except OutputProblems as e:
            problems = e.problems
        except ValueError as e:
            problems = [str(e)]
        if reply.finish_reason == "length":
            problems.append("the answer was cut off at the token limit: write less")
        log.info("%s: invalid %s (try %d): %s", where, schema.__name__, attempt + 1, "; ".join(problems))
        history = [
            *history,
            {"role": "assistant", "content": reply.content},
            {"role": "user", "content": _feedback(retry_prompt, problems)},
        ]
    where = client._where(model, reply.server)
    raise LLMOutputInvalid(
        f"{where}: no valid {schema.__name__} after {client.max_retries + 1} tries: {'; '.join(problems)[:400]}",
        problems=problems,
        replies=replies,
    )


def _feedback(template: str, problems: list[str]) -> str:
    listed = "\n".join(f"- {p}" for p in problems)
    if template and "$problems" in template:
        return template.replace("$problems", listed)
    return f"Your answer was rejected:\n{listed}\nAnswer again with corrected JSON only."


def _with_schema_hint(messages: list[Message], schema: dict[str, Any]) -> list[Message]:
    hint = "Answer with one JSON object only, no prose, matching this JSON schema:\n" + json.dumps(schema)
    out = list(messages)
    if out and out[0].get("role") == "system" and isinstance(out[0].get("content"), str):
        out[0] = {**out[0], "content": f"{out[0]['content']}\n\n{hint}"}
    else:
        out.insert(0, {"role": "system", "content": hint})
    return out
