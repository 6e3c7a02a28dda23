"""LLMWriter (facts, then the script) and LLMInspector (vision verdict + CPU measures) on a scripted server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vivant.backends.openai.client import LLMClient
from vivant.backends.openai.errors import LLMOutputInvalid
from vivant.backends.openai.inspector import LLMInspector, VisionVerdict, combine, head_orientation
from vivant.backends.openai.prompts import Prompts
from vivant.backends.openai.script_rules import ScriptDraft, guided_script_schema
from vivant.backends.openai.structured import strict_schema
from vivant.backends.openai.writer import LLMWriter
from vivant.config import ChecksSettings, LLMSettings, VisionRules
from vivant.errors import ConfigError
from vivant.roles import Attempt, Box, Check, Fact, Painting, ResearchNotes, Source, Verdict, Writer, running

from .scripted import Scripted

SRC_P = Source(archive="test.zim", path="Girl_with_a_Pearl_Earring", title="Girl with a Pearl Earring")
SRC_A = Source(archive="test.zim", path="Johannes_Vermeer", title="Johannes Vermeer")
NOTES = ResearchNotes(
    painting_facts=[
        Fact(text="Girl with a Pearl Earring is an oil painting by Johannes Vermeer, dated c. 1665.", source=SRC_P),
        Fact(text="It has been in the collection of the Mauritshuis in The Hague since 1902.", source=SRC_P),
    ],
    artist_facts=[Fact(text="Johannes Vermeer was a Dutch Baroque painter born in Delft in 1632.", source=SRC_A)],
    sources=[SRC_P, SRC_A],
)
PEARL = Painting(id=1, key="pearl", title="Girl with a Pearl Earring", artist="Johannes Vermeer", year=1665,
                 image_path=Path("unused.jpg"))  # fmt: skip
FACTS = {
    "key_facts": [{"text": "An oil painting by Johannes Vermeer, dated 1665.", "source": 1}],
    "anecdotes": [{"text": "In the Mauritshuis in The Hague since 1902.", "source": 2}],
    "context": [],
}
EN = {
    "title": "Girl with a Pearl Earring spills it",
    "hook": "Stop scrolling: I have been staring at you since 1665.",
    "script": "Stop scrolling: I have been staring at you since 1665. Johannes Vermeer painted me, and since 1902 "
    "I live in the Mauritshuis. Follow for more talking paintings!",
    "hashtags": ["#vermeer", "#art"],
}
FR = {
    "title": "La Jeune Fille à la perle se confie",
    "hook": "Je te regarde depuis 1665.",
    "script": "Je te regarde depuis 1665. Johannes Vermeer m'a peinte, et je vis au Mauritshuis depuis 1902. "
    "Abonne-toi pour d'autres tableaux qui parlent !",
    "hashtags": ["#vermeer", "#peinture"],
}


def _writer(scripted: Scripted, **settings: object) -> LLMWriter:
    s = LLMSettings(base_url=scripted.url, model="scripted-model", request_timeout=5, **settings)  # type: ignore[arg-type]
    return LLMWriter(s, client=LLMClient.from_settings(s))


def test_facts_then_scripts_in_both_languages(scripted: Scripted) -> None:
    scripted.push(json.dumps(FACTS), json.dumps(EN), json.dumps(FR))
    writer = _writer(scripted)
    en = writer.write(PEARL, NOTES, "en")
    fr = writer.write(PEARL, NOTES, "fr")
    assert len(scripted.requests) == 3  # one facts call shared by both languages
    assert en.language == "en" and fr.language == "fr"
    assert en.sources == [SRC_P] == fr.sources
    assert writer.name == "openai:scripted-model" and not writer.degraded
    facts_prompt = scripted.requests[0]["messages"][1]["content"]
    assert "[1] (about the painting) Girl with a Pearl Earring is an oil painting" in facts_prompt
    assert "[3] (about the artist) Johannes Vermeer was a Dutch Baroque painter" in facts_prompt
    schema = scripted.requests[0]["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["key_facts"]["items"]["properties"]["source"]["enum"] == [1, 2, 3]
    script_prompt = scripted.requests[1]["messages"][1]["content"]
    assert "- In the Mauritshuis in The Hague since 1902." in script_prompt and "English" in script_prompt
    assert "French" in scripted.requests[2]["messages"][1]["content"]


def test_a_fact_not_in_the_notes_is_sent_back(scripted: Scripted) -> None:
    invented = {**FACTS, "anecdotes": [{"text": "Vermeer sold it to Napoleon in 1810 for a horse.", "source": 2}]}
    scripted.push(json.dumps(invented), json.dumps(FACTS), json.dumps(EN))
    _writer(scripted).write(PEARL, NOTES, "en")
    feedback = scripted.requests[1]["messages"][-1]["content"]
    assert "anecdotes.0" in feedback and "['1810'] not in note 2" in feedback


def test_script_rules_fed_back(scripted: Scripted) -> None:
    third_person = {**EN, "script": "Johannes Vermeer painted this girl in 1665; she wears a pearl. Follow!"}
    invented_year = {**EN, "script": "I was painted by Johannes Vermeer in 1664, follow me!"}
    no_artist = {**EN, "script": "I am a girl with a pearl, and I have been in the Mauritshuis since 1902."}
    french = {**FR}
    scripted.push(json.dumps(FACTS), json.dumps(third_person), json.dumps(invented_year), json.dumps(no_artist))
    scripted.push(json.dumps(french))
    with pytest.raises(LLMOutputInvalid) as err:
        _writer(scripted, max_retries=3).write(PEARL, NOTES, "en")
    assert err.value.problems[-1] == "the script must be written in English"
    feedbacks = [r["messages"][-1]["content"] for r in scripted.requests[2:]]
    assert "first person" in feedbacks[0]
    assert "1664 are not in the facts" in feedbacks[1]
    assert "does not name the artist 'Johannes Vermeer'" in feedbacks[2]


def test_no_notes_no_facts_call_and_the_script_says_less(scripted: Scripted) -> None:
    plain = {**EN, "script": "I am a mystery: Johannes Vermeer painted me, and the books say nothing more. Follow!"}
    scripted.push(json.dumps(plain))
    writer = _writer(scripted)
    script = writer.write(PEARL, ResearchNotes(searched=["nothing found"]), "en")
    assert len(scripted.requests) == 1 and script.sources == []
    assert "(none: say only what the title" in scripted.requests[0]["messages"][1]["content"]


def test_fallback_to_the_template_writer_is_recorded(scripted: Scripted, tmp_path: Path) -> None:
    scripted.push(json.dumps(FACTS), *["not json"] * 2)
    writer = _writer(scripted, max_retries=1, fallback="template")
    attempt = Attempt(painting=PEARL, language="en", out=tmp_path)
    with running(attempt):  # the writer says so to the attempt it runs in (no state kept in the writer)
        script = writer.write(PEARL, NOTES, "en")
    assert isinstance(writer, Writer)
    assert writer.name == "openai:scripted-model" and not writer.degraded
    assert attempt.ran(writer.name, writer.degraded) == ("openai:scripted-model->local:template", True)
    assert "Vermeer" in script.script
    with pytest.raises(LLMOutputInvalid):  # without the fallback the attempt fails
        scripted.push(*["not json"] * 2)
        _writer(scripted, max_retries=1).write(PEARL, ResearchNotes(), "en")


def test_guided_schema_and_prompt_overrides(tmp_path: Path) -> None:
    schema = guided_script_schema(strict_schema(ScriptDraft), "Johannes Vermeer", "Girl with a Pearl Earring", "fr")
    assert schema["properties"]["script"]["pattern"].startswith("^Je suis Girl with a Pearl Earring, et je[")
    assert " Vermeer[" in schema["properties"]["script"]["pattern"]
    assert schema["required"] == ["title", "hook", "script", "hashtags"] and not schema["additionalProperties"]
    (tmp_path / "script.system.txt").write_text("Be brief about $title.")
    prompts = Prompts(tmp_path)
    assert prompts.render("script.system", title="X") == "Be brief about X."
    assert prompts.path("facts.user") == Prompts.packaged() / "facts.user.txt"
    with pytest.raises(ConfigError, match=r"unknown placeholder \$title"):
        prompts.render("script.system", other=1)
    with pytest.raises(ConfigError, match="prompts folder not found"):
        Prompts(tmp_path / "nope")


# -- vision -----------------------------------------------------------------------------------------------------


def _cpu(reasons: list[str], people: int = 1, label: str = "FACE_FEMALE (+frontalface_alt2)") -> Verdict:
    face = Box(x=10, y=10, w=100, h=120, label=label)
    return Verdict(accepted=not reasons, reasons=reasons, checks=[Check(name="blur", value=300.0)], width=800,
                   height=1000, people=people, faces=[face] * max(people, 0), main_face=face if people else None,
                   backend="local:nudenet+opencv")  # fmt: skip


def _vv(**kw: object) -> VisionVerdict:
    base = {"people": 1, "gender": "female", "age_group": "adult", "child_present": False, "nudity": "none",
            "single_portrait": True, "confidence": 0.9}  # fmt: skip
    return VisionVerdict.model_validate({**base, **kw})


def test_combine_rules() -> None:
    rules = VisionRules()
    ok = combine(_cpu([]), _vv(), rules, backend="b")
    assert ok.accepted and ok.backend == "b"
    names = [c.name for c in ok.checks]
    assert names == ["blur", "llm_people", "llm_single_portrait", "llm_child", "llm_nudity", "llm_confidence",
                     "head_orientation"]  # fmt: skip
    # a confident model overrules the CPU's face count, not its blur or its "no person found"
    v = combine(_cpu(["2 people (max 1)"], people=2), _vv(), rules, backend="b")
    assert v.accepted and v.people == 1
    v = combine(_cpu(["2 people (max 1)", "too blurry: Laplacian variance 3 (min 40)"], people=2), _vv(), rules,
                backend="b")  # fmt: skip
    assert v.reasons == ["too blurry: Laplacian variance 3 (min 40)"]
    v = combine(_cpu(["2 people (max 1)"], people=2), _vv(confidence=0.2), rules, backend="b")
    assert v.reasons == ["2 people (max 1)"] and v.people == 2
    # safety flags count even when the model is unsure
    v = combine(_cpu([]), _vv(child_present=True, confidence=0.1), rules, backend="b")
    assert v.reasons == ["vision model: child present (age group adult)"]
    v = combine(_cpu([]), _vv(nudity="partial"), rules, backend="b")
    assert v.reasons == ["vision model: nudity 'partial' (allowed: none, suggestive)"]
    v = combine(_cpu([]), _vv(people=3, single_portrait=False), rules, backend="b")
    assert v.reasons == ["vision model: 3 people (max 1)", "vision model: not a single portrait"]
    strict = VisionRules(allowed_orientations=["frontal"])
    v = combine(_cpu([], label="FACE_MALE (+profileface)"), _vv(), strict, backend="b")
    assert v.reasons == ["head orientation profile (allowed: frontal)"]
    assert (
        head_orientation(Box(x=0, y=0, w=1, h=1, label="FACE_MALE (+frontalface_alt+profileface)")) == "three-quarter"
    )
    assert head_orientation(None) == "unknown"


def test_inspector_sends_the_image_and_combines(scripted: Scripted, paintings_dir: Path) -> None:
    scripted.push(json.dumps(_vv().model_dump()))
    s = LLMSettings(base_url=scripted.url, model="text-model", vision_model="vision-model", request_timeout=30)
    inspector = LLMInspector(s)
    image = paintings_dir / "vermeer_girl-with-a-pearl-earring.jpg"
    painting = PEARL.model_copy(update={"image_path": image})
    verdict = inspector.inspect(image, painting, ChecksSettings())
    assert verdict.accepted, verdict.reasons
    assert verdict.backend == "openai:vision-model+local:nudenet+opencv"
    assert verdict.main_face is not None and any(c.name == "llm_nudity" for c in verdict.checks)
    body = scripted.requests[0]
    assert body["model"] == "vision-model"
    part = body["messages"][1]["content"][1]
    assert part["type"] == "image_url" and part["image_url"]["url"].startswith("data:image/jpeg;base64,/9j/")
    assert '"Girl with a Pearl Earring" by Johannes Vermeer' in body["messages"][1]["content"][0]["text"]
