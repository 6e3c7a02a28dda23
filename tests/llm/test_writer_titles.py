"""LLMWriter and titles in the narration's language (issue 11 item 5) and French typography (issue 17)."""

from __future__ import annotations

import json

from vivant.backends.openai.client import LLMClient
from vivant.backends.openai.writer import LLMWriter
from vivant.config import LLMSettings
from vivant.roles import ResearchNotes
from vivant.speech import NBSP

from .scripted import Scripted
from .test_roles import EN, FACTS, FR, NOTES, PEARL


def _writer(scripted: Scripted) -> LLMWriter:
    s = LLMSettings(base_url=scripted.url, model="scripted-model", request_timeout=5)
    return LLMWriter(s, client=LLMClient.from_settings(s))


def test_the_llm_translates_the_title_when_none_is_known(scripted: Scripted) -> None:
    hat = PEARL.model_copy(update={"title": "Girl with a Red Hat"})  # not in the table of well-known French titles
    fr = {**FR, "painting_title": "« La Jeune Fille au chapeau rouge »"}
    scripted.push(json.dumps(FACTS), json.dumps(EN), json.dumps(fr))
    writer = _writer(scripted)
    en_script = writer.write(hat, NOTES, "en")
    fr_script = writer.write(hat, NOTES, "fr")
    assert en_script.painting_title == "Girl with a Red Hat"
    assert fr_script.painting_title == "La Jeune Fille au chapeau rouge"
    fr_prompt = scripted.requests[2]["messages"][1]["content"]
    assert 'painting_title: the title "Girl with a Red Hat" in French' in fr_prompt
    assert "facts given in another language are said in French" in fr_prompt
    assert 'painting_title: exactly "Girl with a Red Hat"' in scripted.requests[1]["messages"][1]["content"]
    schema = scripted.requests[2]["response_format"]["json_schema"]["schema"]
    assert "painting_title" in schema["properties"]
    # French typography on what the model wrote ("tableaux qui parlent !" had an ordinary space)
    assert f"parlent{NBSP}!" in fr_script.script and " !" not in fr_script.script


def test_a_well_known_works_french_title_needs_no_translation(scripted: Scripted) -> None:
    fr = {**FR, "painting_title": "Fille avec perle"}
    scripted.push(json.dumps(FACTS), json.dumps(fr))
    assert _writer(scripted).write(PEARL, NOTES, "fr").painting_title == "La Jeune Fille à la perle"


def test_a_known_french_title_wins_over_the_models(scripted: Scripted) -> None:
    fr = {**FR, "painting_title": "Fille avec perle"}
    scripted.push(json.dumps(FACTS), json.dumps(fr))
    painting = PEARL.model_copy(update={"title_fr": "La Jeune Fille à la perle"})
    script = _writer(scripted).write(painting, NOTES, "fr")
    assert script.painting_title == "La Jeune Fille à la perle"
    assert 'exactly "La Jeune Fille à la perle"' in scripted.requests[1]["messages"][1]["content"]
    scripted.push(json.dumps(FACTS), json.dumps(FR))  # no painting_title in the answer: the archive's title
    notes = ResearchNotes(**{**NOTES.model_dump(), "titles": {"fr": "La Jeune Fille à la perle"}})
    other = _writer(scripted).write(PEARL.model_copy(update={"key": "pearl-2"}), notes, "fr")
    assert other.painting_title == "La Jeune Fille à la perle"


def test_the_models_script_is_cleaned_for_speech(scripted: Scripted) -> None:
    said = "Johannes Vermeer & his brushes painted me c. 1665"
    en = {**EN, "script": EN["script"].replace("Johannes Vermeer painted me", said)}
    scripted.push(json.dumps(FACTS), json.dumps(en))
    script = _writer(scripted).write(PEARL, NOTES, "en")
    assert "Johannes Vermeer and his brushes painted me around 1665, and since 1902" in script.script
    assert "&" not in script.script and "c. " not in script.script
